"""Documents sent during a session; the caller's credit code; transfer links.

- `documents`: files (images, PDFs, office documents) a caller or specialist
  sent during a session, kept with the session for the participants and the
  administrators.
- `sessions.caller_credit_code`: the enterprise's unified social credit code
  (GB 32100-2015, 18 characters, checked before it is stored).
- `sessions.transferred_from`: the session this one continues after a
  transfer (the earlier one ended with outcome `transferred`).

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_documents_session_id_sessions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
    )
    op.create_index("ix_documents_session_id_created_at", "documents", ["session_id", "created_at"])
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("caller_credit_code", sa.String(18), nullable=True))
        batch.add_column(sa.Column("transferred_from", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("transferred_from")
        batch.drop_column("caller_credit_code")
    op.drop_index("ix_documents_session_id_created_at", table_name="documents")
    op.drop_table("documents")
