"""Residents and households are found by community and name (imports, registration checks) with an
index, not by scanning the community's rows: an import's look-ups stay flat as a city's register grows.

Revision ID: 0024_resident_name_lookups
Revises: 0023_counter_shifts
"""

from alembic import op

revision = "0024_resident_name_lookups"
down_revision = "0023_counter_shifts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_community_id_name", "members", ["community_id", "name"])
    op.create_index("ix_households_community_id_name", "households", ["community_id", "name"])


def downgrade() -> None:
    op.drop_index("ix_households_community_id_name", table_name="households")
    op.drop_index("ix_members_community_id_name", table_name="members")
