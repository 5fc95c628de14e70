"""Jobs started from the office: a run is queued with its parameters and who asked, and reports progress.

Revision ID: 0010_office_jobs
Revises: 0009_merkle_blocks
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_office_jobs"
down_revision = "0009_merkle_blocks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_job_runs_requested_by_staff"), "staff", ["requested_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_job_runs_requested_by_staff"), type_="foreignkey")
        batch_op.drop_column("progress")
        batch_op.drop_column("params")
        batch_op.drop_column("requested_by")
