"""Opening hours (issue 15): weekly schedules and the calendar's day overrides.

- `opening_hours`: one weekly schedule per row, the center's default under the service item
  code '' and a service item's own under its code; no row at all means always open.
- `calendar_days`: an administrator's override of one date (`closed`, `open` with periods,
  `makeup`), over China's official calendar (routing/calendar.py) and the weekly schedule.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opening_hours",
        sa.Column("service_item_code", sa.String(32), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service_item_code", name="pk_opening_hours"),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("periods", sa.JSON(), nullable=True),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('closed', 'open', 'makeup')", name="ck_calendar_days_kind"),
        sa.PrimaryKeyConstraint("day", name="pk_calendar_days"),
    )


def downgrade() -> None:
    op.drop_table("calendar_days")
    op.drop_table("opening_hours")
