"""calls in progress: the amount reserved at sendSip, the list rate, and the node placing the call

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("reserved", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("base_rate", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("node", sa.String(length=64), nullable=False, server_default=""))
    op.create_index("ix_call_records_open", "call_records", ["node", "hangup_time"])


def downgrade() -> None:
    op.drop_index("ix_call_records_open", table_name="call_records")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("node")
        batch.drop_column("base_rate")
        batch.drop_column("reserved")
