"""A community's limit on what helpers (代办) may spend for one elder in a calendar month.

Revision ID: 0025_helper_cap_setting
Revises: 0024_resident_name_lookups
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_helper_cap_setting"
down_revision = "0024_resident_name_lookups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("helper_monthly_coin_cap", sa.Integer(), nullable=False, server_default="500"))


def downgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("helper_monthly_coin_cap")
