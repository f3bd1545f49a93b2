"""crash recovery: each open call's last known activity, and its legs' dialogs (BYE after a restart)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("last_activity", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "call_dialogs",
        sa.Column("voice_id", sa.String(length=19), nullable=False),
        sa.Column("leg", sa.String(length=8), nullable=False),
        sa.Column("call_id", sa.String(length=256), nullable=False),
        sa.Column("local_uri", sa.Text(), nullable=False),
        sa.Column("remote_uri", sa.Text(), nullable=False),
        sa.Column("remote_target", sa.Text(), nullable=False),
        sa.Column("route_set", sa.Text(), nullable=False),
        sa.Column("local_contact", sa.Text(), nullable=False),
        sa.Column("local_cseq", sa.BigInteger(), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("remote_host", sa.String(length=64), nullable=False),
        sa.Column("remote_port", sa.Integer(), nullable=False),
        sa.Column("local_host", sa.String(length=64), nullable=False),
        sa.Column("local_port", sa.Integer(), nullable=False),
        sa.Column("alternate_target", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["voice_id"], ["call_records.voice_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("voice_id", "leg"),
    )


def downgrade() -> None:
    op.drop_table("call_dialogs")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("last_activity")
