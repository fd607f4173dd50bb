"""Product quality (issue 12): references, search keywords, bilingual catalog, retiring, transfer notes.

- `sessions.reference`: the short human reference (`XH-20261202-0042`) shown to
  callers and searched in the log; unique. Rows from before this revision have
  none (NULL).
- `sessions.transfer_note`: why the session was transferred to this one (the
  note of the specialist who transferred it).
- `service_items.keywords`: synonyms and abbreviations the catalog search
  matches ("社保", "social security"), space- or comma-separated.
- `service_items.department_en`: the department's English name.
- `service_items.retired`: a retired item is no longer offered to callers but
  stays in the log it is referred to by.
- `categories`: display names of the catalog's category codes, in both languages.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("reference", sa.String(20), nullable=True))
        batch.add_column(sa.Column("transfer_note", sa.Text(), nullable=True))
        batch.create_index("uq_sessions_reference", ["reference"], unique=True)
    with op.batch_alter_table("service_items") as batch:
        batch.add_column(sa.Column("keywords", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("department_en", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "categories",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("categories")
    with op.batch_alter_table("service_items") as batch:
        batch.drop_column("retired")
        batch.drop_column("department_en")
        batch.drop_column("keywords")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("uq_sessions_reference")
        batch.drop_column("transfer_note")
        batch.drop_column("reference")
