"""call recordings: each record's recording state, its mp3 (relative path, size, length), and lookups
by recordingFileId and by age (retention)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("recording_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("recording_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("recording_path", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("recording_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("recording_millis", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("recording_error", sa.String(length=256), nullable=True))
        batch.create_index("ix_call_records_recording_file", ["recording_file_id"], unique=True)
        batch.create_index("ix_call_records_recording_age", ["recording_status", "recording_started_at"])


def downgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.drop_index("ix_call_records_recording_age")
        batch.drop_index("ix_call_records_recording_file")
        for column in (
            "recording_error",
            "recording_millis",
            "recording_bytes",
            "recording_path",
            "recording_started_at",
            "recording_status",
        ):
            batch.drop_column(column)
