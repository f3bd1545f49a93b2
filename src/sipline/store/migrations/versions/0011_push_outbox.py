"""status report push: each app's push URL, secrets and events, the outbox of events to deliver, and
the log of their tries

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_push",
        sa.Column("app_pk", sa.Integer(), sa.ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("previous_secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("send_report", sa.Boolean(), nullable=False),
        sa.Column("send_ringing", sa.Boolean(), nullable=False),
        sa.Column("send_answered", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "push_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("app_pk", sa.Integer(), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("voice_id", sa.String(length=19), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_push_outbox_due", "push_outbox", ["state", "next_attempt_at"])
    op.create_index("ix_push_outbox_app", "push_outbox", ["app_pk", "state"])
    op.create_table(
        "push_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "outbox_id", sa.Integer(), sa.ForeignKey("push_outbox.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("app_pk", sa.Integer(), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=256), nullable=True),
    )
    op.create_index("ix_push_attempts_outbox_id", "push_attempts", ["outbox_id"])
    op.create_index("ix_push_attempts_app", "push_attempts", ["app_pk", "id"])


def downgrade() -> None:
    op.drop_index("ix_push_attempts_app", table_name="push_attempts")
    op.drop_index("ix_push_attempts_outbox_id", table_name="push_attempts")
    op.drop_table("push_attempts")
    op.drop_index("ix_push_outbox_app", table_name="push_outbox")
    op.drop_index("ix_push_outbox_due", table_name="push_outbox")
    op.drop_table("push_outbox")
    op.drop_table("app_push")
