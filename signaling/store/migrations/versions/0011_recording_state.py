"""Crash-safe recordings: `recordings.state`.

A recording is indexed when its file starts (`recording`) and updated when it
is finalized (`complete`); start-up remuxes what a crash left unfinished
(`repaired`, or `failed` when nothing decodable remained). Rows written
before this revision were indexed only once finalized: `complete`.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="complete"))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("state")
