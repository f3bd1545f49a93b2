"""call origin: how each call was placed (api, handset, phone_to_phone); earlier calls are the API's

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=16), nullable=False, server_default="api"))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("origin")
