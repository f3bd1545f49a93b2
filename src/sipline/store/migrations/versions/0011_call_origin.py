"""call origin: how each call was placed (api, handset, phone_to_phone); earlier calls are the API's

Revision ID: 0011
Revises: 0009 (written against 0007)
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = (
    "0009"  # written against 0007; re-chained after main's 0009 in this branch (reviewer re-chains)
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=16), nullable=False, server_default="api"))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("origin")
