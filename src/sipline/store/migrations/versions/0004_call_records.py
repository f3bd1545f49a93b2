"""call records: one row per click-to-call, from sendSip to hang-up

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voice_id", sa.String(length=19), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("app_pk", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=64), nullable=False),
        sa.Column("phone_name", sa.String(length=64), nullable=False),
        sa.Column("phone_account", sa.String(length=32), nullable=False),
        sa.Column("callee", sa.String(length=32), nullable=False),
        sa.Column("display_num", sa.String(length=16), nullable=False),
        sa.Column("called_info", sa.Text(), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("submit_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ringing_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hangup_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("call_duration", sa.Integer(), nullable=False),
        sa.Column("charged_duration", sa.Integer(), nullable=False),
        sa.Column("termination_code", sa.String(length=8), nullable=True),
        sa.Column("termination_reason", sa.String(length=256), nullable=True),
        sa.Column("bill_period", sa.String(length=16), nullable=True),
        sa.Column("rate", sa.BigInteger(), nullable=True),
        sa.Column("cost", sa.BigInteger(), nullable=True),
        sa.Column("base_cost", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("quote_exchange", sa.BigInteger(), nullable=True),
        sa.Column("settle_rate", sa.BigInteger(), nullable=True),
        sa.Column("settle_pay", sa.BigInteger(), nullable=True),
        sa.Column("recording_file_id", sa.String(length=64), nullable=True),
        sa.Column("feedback_value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["app_pk"], ["apps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("voice_id"),
    )
    op.create_index("ix_call_records_account_submit", "call_records", ["account_id", "submit_time"])
    op.create_index("ix_call_records_app_pk", "call_records", ["app_pk"])


def downgrade() -> None:
    op.drop_table("call_records")
