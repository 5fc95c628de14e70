"""Join the earning, market and jobs branches into one head.

The three domains were built side by side, each as a branch off the foundation; from here on
the history is linear again, so `greencoin migrate` and `alembic upgrade head` agree.

Revision ID: 0005_one_head
Revises: 0002_earning, 0003_market, 0004_jobs
"""

revision = "0005_one_head"
down_revision = ("0002_earning", "0003_market", "0004_jobs")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
