"""The session writer's journal checkpoints: `journal_checkpoints`.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_checkpoints",
        sa.Column("journal", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("alive_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("journal", name="pk_journal_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("journal_checkpoints")
