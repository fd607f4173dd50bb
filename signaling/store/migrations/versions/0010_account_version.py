"""Revocable staff tokens: `accounts.token_version` and `accounts.disabled`.

- `token_version`: carried in every staff token; bumping it (a role or password
  change, a disabled account, a logout) makes the account's older tokens invalid.
- `disabled`: the account may not log in, and its tokens are refused.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("disabled")
        batch.drop_column("token_version")
