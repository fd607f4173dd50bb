"""Initial schema: catalog, accounts, sessions and their events, ratings, recordings.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "service_items",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.CheckConstraint("level IN ('district', 'municipal')", name="ck_service_items_level"),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 5", name="ck_service_items_difficulty"),
        sa.PrimaryKeyConstraint("code", name="pk_service_items"),
    )
    op.create_index("ix_service_items_category", "service_items", ["category"])

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('specialist', 'admin')", name="ck_accounts_role"),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
    )

    op.create_table(
        "skills",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_skills_account_id_accounts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", "target", name="pk_skills"),
    )

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("service_item_code", sa.String(32), nullable=False),
        sa.Column("caller_name", sa.String(200), nullable=False),
        sa.Column("caller_company", sa.String(200), nullable=True),
        sa.Column("caller_phone", sa.String(64), nullable=True),
        sa.Column("specialist_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("offered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("media_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("wait_ms", sa.Integer(), nullable=True),
        sa.Column("connect_ms", sa.Integer(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("end_reason", sa.String(64), nullable=True),
        sa.Column("ended_by", sa.String(16), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("disposition", sa.String(64), nullable=True),
        sa.Column("difficulty", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_item_code"], ["service_items.code"],
            name="fk_sessions_service_item_code_service_items",
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"], ["accounts.id"],
            name="fk_sessions_specialist_id_accounts", ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )
    for column in ("created_at", "service_item_code", "specialist_id", "outcome", "ended_at"):
        op.create_index(f"ix_sessions_{column}", "sessions", [column])

    op.create_table(
        "session_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"],
            name="fk_session_events_session_id_sessions", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_session_events"),
    )
    op.create_index("ix_session_events_session_id_at", "session_events", ["session_id", "at"])

    op.create_table(
        "ratings",
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="ck_ratings_satisfaction"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_ratings_session_id_sessions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("session_id", name="pk_ratings"),
    )

    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_recordings_session_id_sessions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
        sa.UniqueConstraint("session_id", "party", name="uq_recordings_session_id_party"),
    )


def downgrade() -> None:
    for table in ("recordings", "ratings", "session_events", "sessions", "skills", "accounts", "service_items"):
        op.drop_table(table)
