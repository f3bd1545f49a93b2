"""rate decks: versions of the platform's and the accounts' decks, their lines, and each call's
connect fee

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_decks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rate_decks_owner_effective", "rate_decks", ["account_id", "effective_from"])
    op.create_table(
        "rate_deck_lines",
        sa.Column("deck_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("destination", sa.String(length=128), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        sa.Column("base_rate", sa.BigInteger(), nullable=True),
        sa.Column("bill_period", sa.String(length=16), nullable=False),
        sa.Column("connect_fee", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["deck_id"], ["rate_decks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deck_id", "prefix"),
    )
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("connect_fee", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("connect_fee")
    op.drop_table("rate_deck_lines")
    op.drop_index("ix_rate_decks_owner_effective", table_name="rate_decks")
    op.drop_table("rate_decks")
