"""call records: the account's index in the exact order of every records query (submit_time, then
voice_id, newest first), so a page deep in a window walks the index instead of sorting the window

Revision ID: 0013
Revises: 0012

Before, (account_id, submit_time) left ties in submit_time to be ordered by voice_id: SQLite sorted
the whole window in a temporary B-tree (and PostgreSQL sorted it) before it could skip to the page,
so a deep page of a busy day cost a sort of ~33,000 rows (bench/console). The new index serves every
query the old one did (it starts with the same columns), which is therefore dropped.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_call_records_account_submit_voice", "call_records", ["account_id", "submit_time", "voice_id"]
    )
    op.drop_index("ix_call_records_account_submit", table_name="call_records")


def downgrade() -> None:
    op.create_index("ix_call_records_account_submit", "call_records", ["account_id", "submit_time"])
    op.drop_index("ix_call_records_account_submit_voice", table_name="call_records")
