"""Join the branches that features added side by side (queues, recording settings,
documents, admin indexes) into one head, so the next revision has one parent.

Revision ID: 0007
Revises: 0002, 0003, 0004, 0006
"""

revision = "0007"
down_revision = ("0002", "0003", "0004", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
