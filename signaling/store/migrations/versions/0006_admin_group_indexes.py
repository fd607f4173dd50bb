"""Indexes that let the reports group without sorting (SQLite skip-scan).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

- `ix_sessions_group`: (specialist, service item, created_at, …) covering the
  per-specialist-and-item pass of the metrics and scores; SQLite walks it with
  a skip-scan over the (few hundred) pairs, already in GROUP BY order.
- `ix_ratings_session_satisfaction`: the satisfaction join reads the index only.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GROUP_COLUMNS = [
    "specialist_id", "service_item_code", "created_at", "outcome", "wait_ms",
    "connect_ms", "talk_s", "difficulty", "ended_at", "id",
]


def upgrade() -> None:
    op.create_index("ix_sessions_group", "sessions", GROUP_COLUMNS)
    op.create_index("ix_ratings_session_satisfaction", "ratings", ["session_id", "satisfaction"])


def downgrade() -> None:
    op.drop_index("ix_ratings_session_satisfaction", table_name="ratings")
    op.drop_index("ix_sessions_group", table_name="sessions")
