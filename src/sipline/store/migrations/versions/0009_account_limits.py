"""account limits: each account's fraud limits (max concurrent calls, max new calls per second,
daily spend cap, destination prefixes denied or allowed only), and the ledger read by account and time

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_limits",
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("max_concurrent", sa.Integer(), nullable=True),
        sa.Column("max_cps", sa.Integer(), nullable=True),
        sa.Column("daily_cap", sa.BigInteger(), nullable=True),
        sa.Column("deny_prefixes", sa.Text(), nullable=False, server_default=""),
        sa.Column("allow_prefixes", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ledger_entries_account_time", "ledger_entries", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_account_time", table_name="ledger_entries")
    op.drop_table("account_limits")
