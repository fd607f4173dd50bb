"""Recording on/off per service item.

- `service_items.recording`: whether bridged sessions of this service item
  are recorded (default true; the server-wide switch is `VW_RECORDING`).

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_items") as batch:
        batch.add_column(sa.Column("recording", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("service_items") as batch:
        batch.drop_column("recording")
