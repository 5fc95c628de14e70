"""service record imports: the keyed digest of each imported history row (idempotent re-runs)

Revision ID: 0022_service_record_imports
Revises: 0021_reservations
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime and BigId render through it)

revision = "0022_service_record_imports"
down_revision = "0021_reservations"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "service_record_imports",
        sa.Column("import_key", sa.String(length=64), nullable=False),
        sa.Column("service_record_id", ID, nullable=False),
        sa.Column("created_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_record_id"], ["service_records.id"],
            name=op.f("fk_service_record_imports_service_record_id_service_records"),
        ),
        sa.PrimaryKeyConstraint("import_key", name=op.f("pk_service_record_imports")),
    )
    op.create_index(
        op.f("ix_service_record_imports_service_record_id"), "service_record_imports", ["service_record_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_service_record_imports_service_record_id"), table_name="service_record_imports")
    op.drop_table("service_record_imports")
