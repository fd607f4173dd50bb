"""Indexes for the administration pages: the report scan and the filtered session log.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-27

- `ix_sessions_report` covers every column the metrics and scores read and
  every filter of the session log, so a month of sessions is aggregated, and a
  page of the log is chosen, from the index alone (no table lookups).
- `(filter column, created_at)` pairs let the log answer "this service item /
  specialist / outcome, newest first" by walking one index backwards.
"""

from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

REPORT_COLUMNS = [
    "created_at", "outcome", "service_item_code", "specialist_id",
    "wait_ms", "connect_ms", "talk_s", "difficulty", "ended_at", "caller_company", "id",
]
PAIRS = {
    "ix_sessions_item_created": ["service_item_code", "created_at"],
    "ix_sessions_specialist_created": ["specialist_id", "created_at"],
    "ix_sessions_outcome_created": ["outcome", "created_at"],
}


def upgrade() -> None:
    op.create_index("ix_sessions_report", "sessions", REPORT_COLUMNS)
    for name, columns in PAIRS.items():
        op.create_index(name, "sessions", columns)


def downgrade() -> None:
    for name in PAIRS:
        op.drop_index(name, table_name="sessions")
    op.drop_index("ix_sessions_report", table_name="sessions")
