"""Several people in one call (issue 13): who took part in a session, in which role, and when.

- `session_participants`: one row per time a person joined the session's call: the caller,
  the front desk (the specialist who answered), the back office (an invited specialist) or a
  supervisor. `mode` is how they joined (`consult`, `conference`; `listen`, `whisper`, `barge`
  for a supervisor, the last mode they used), `invite_id` the invitation that brought them
  and `wait_ms` how long it rang before they accepted. `left_at` is NULL while they are in the call.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "session_participants",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("mode", sa.String(16), nullable=True),
        sa.Column("invite_id", sa.String(32), nullable=True),
        sa.Column("wait_ms", sa.Integer(), nullable=True),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("left_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('caller', 'front_desk', 'back_office', 'supervisor')",
                           name="ck_session_participants_role"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_session_participants_session_id_sessions"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="SET NULL",
                                name="fk_session_participants_account_id_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_session_participants"),
    )
    op.create_index("ix_session_participants_session_id_joined_at", "session_participants",
                    ["session_id", "joined_at"])
    op.create_index("ix_session_participants_account_id", "session_participants", ["account_id"])


def downgrade() -> None:
    op.drop_table("session_participants")
