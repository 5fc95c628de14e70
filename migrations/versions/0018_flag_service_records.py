"""Supervisors flag a service record as well as an award.

Revision ID: 0018_flag_service_records
Revises: 0017_stock_takes_price_changes
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_flag_service_records"
down_revision = "0017_stock_takes_price_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dispute_flags", schema=None) as batch_op:
        batch_op.alter_column("award_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column("service_record_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_dispute_flags_service_record_id"), ["service_record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispute_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_flags_service_record_id"))
        batch_op.drop_column("service_record_id")
        batch_op.alter_column("award_id", existing_type=sa.BigInteger(), nullable=False)
