"""A household names its head (户主), one of its members.

Revision ID: 0013_household_head
Revises: 0012_helpers
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_household_head"
down_revision = "0012_helpers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("head_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_households_head_member_id_members"), "members", ["head_member_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_households_head_member_id_members"), type_="foreignkey")
        batch_op.drop_column("head_member_id")
