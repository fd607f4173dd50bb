"""Network quality (issue 14): a per-party summary on the session, and samples over the call.

- `sessions.quality`: the per-party summary of the call, `{caller: {...}, specialist: {...}}`
  (contract v1.1; media/quality.py says what each summary holds). NULL before the call had media.
- `sessions.quality_level`: the call's level (the worse party's), for the poor-call metrics.
- `quality_samples`: one row per party and sampling period (1-2 s) while the call had media,
  for the session page's chart: the level and the figures `call:quality` carried.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("quality", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("quality_level", sa.String(8), nullable=True))
    # The poor-call metrics (store/metrics.py) read the range's levels from this index alone.
    op.create_index("ix_sessions_quality", "sessions", ["created_at", "quality_level", "service_item_code"])
    op.create_table(
        "quality_samples",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("rtt_ms", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(4), nullable=True),
        sa.Column("loss_pct", sa.Float(), nullable=True),
        sa.Column("loss_in_pct", sa.Float(), nullable=True),
        sa.Column("loss_out_pct", sa.Float(), nullable=True),
        sa.Column("jitter_ms", sa.Float(), nullable=True),
        sa.Column("kbps_in", sa.Integer(), nullable=True),
        sa.Column("kbps_out", sa.Integer(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("fps_out", sa.Float(), nullable=True),
        sa.Column("frozen_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_quality_samples_session_id_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_quality_samples"),
    )
    op.create_index("ix_quality_samples_session_id_at", "quality_samples", ["session_id", "at"])


def downgrade() -> None:
    op.drop_table("quality_samples")
    op.drop_index("ix_sessions_quality", "sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("quality_level")
        batch.drop_column("quality")
