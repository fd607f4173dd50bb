"""Routing: skill proficiency and per-service-item queue settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("skills") as batch:
        batch.add_column(sa.Column("proficiency", sa.Integer(), server_default="3", nullable=False))

    op.create_table(
        "queues",
        sa.Column("service_item_code", sa.String(32), nullable=False),
        sa.Column("strategy", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("offer_timeout_s", sa.Float(), nullable=False),
        sa.Column("wrap_up_s", sa.Float(), nullable=False),
        sa.Column("max_wait_s", sa.Float(), nullable=True),
        sa.Column("max_wait_no_agent_s", sa.Float(), nullable=True),
        sa.Column("overflow_to", sa.String(32), nullable=True),
        sa.Column("min_proficiency", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("rona_offers", sa.Integer(), nullable=False),
        sa.Column("escalation", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "strategy IN ('longest_idle', 'fewest_calls', 'least_talk_time', 'round_robin', 'ring_all')",
            name="ck_queues_strategy",
        ),
        sa.CheckConstraint("scope IN ('item', 'category')", name="ck_queues_scope"),
        sa.CheckConstraint("min_proficiency BETWEEN 1 AND 5", name="ck_queues_min_proficiency"),
        sa.ForeignKeyConstraint(
            ["service_item_code"], ["service_items.code"],
            name="fk_queues_service_item_code_service_items", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_item_code", name="pk_queues"),
    )


def downgrade() -> None:
    op.drop_table("queues")
    with op.batch_alter_table("skills") as batch:
        batch.drop_column("proficiency")
