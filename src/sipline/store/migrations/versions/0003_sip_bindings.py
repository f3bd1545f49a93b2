"""sip bindings: registered contacts of phones, kept across restarts

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sip_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=512), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.String(length=256), nullable=False),
        sa.Column("cseq", sa.BigInteger(), nullable=False),
        sa.Column("q", sa.Float(), nullable=True),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("source_host", sa.String(length=64), nullable=False),
        sa.Column("source_port", sa.Integer(), nullable=False),
        sa.Column("local_host", sa.String(length=64), nullable=False),
        sa.Column("local_port", sa.Integer(), nullable=False),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "contact", name="uq_sip_bindings_account_contact"),
    )
    op.create_index("ix_sip_bindings_account", "sip_bindings", ["account"])
    op.create_index("ix_sip_bindings_expires_at", "sip_bindings", ["expires_at"])


def downgrade() -> None:
    op.drop_table("sip_bindings")
