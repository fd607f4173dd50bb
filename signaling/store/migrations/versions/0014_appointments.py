"""Appointments (issue 15): a caller books a slot for a service item and comes at its time.

- `appointments`: one booking. `token` is the caller's secret for the manage link (view, cancel,
  rebook, join); `reference` the short human reference (`XHA-20261208-0003`). `status`:
  `booked` → `arrived` (the caller opened the link: a session started, `session_id`) → `kept`
  (answered), or `no_show` (not arrived within the grace), or `cancelled`. `specialist_id`: the
  specialist the caller chose, if any (offered first).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("service_item_code", sa.String(32), nullable=False),
        sa.Column("slot_start", sa.DateTime(), nullable=False),
        sa.Column("slot_end", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("caller_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("caller_company", sa.String(200), nullable=True),
        sa.Column("caller_phone", sa.String(64), nullable=True),
        sa.Column("specialist_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('booked', 'arrived', 'kept', 'no_show', 'cancelled')",
                           name="ck_appointments_status"),
        sa.ForeignKeyConstraint(["service_item_code"], ["service_items.code"],
                                name="fk_appointments_service_item_code_service_items"),
        sa.ForeignKeyConstraint(["specialist_id"], ["accounts.id"], ondelete="SET NULL",
                                name="fk_appointments_specialist_id_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
    )
    op.create_index("uq_appointments_token", "appointments", ["token"], unique=True)
    op.create_index("uq_appointments_reference", "appointments", ["reference"], unique=True)
    op.create_index("ix_appointments_slot", "appointments", ["slot_start", "service_item_code", "status"])
    op.create_index("ix_appointments_session_id", "appointments", ["session_id"])


def downgrade() -> None:
    op.drop_table("appointments")
