"""counter shifts: a cashier opens and closes a shift; the close-out covers it

Revision ID: 0023_counter_shifts
Revises: 0022_service_record_imports
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime and BigId render through it)

revision = "0023_counter_shifts"
down_revision = "0022_service_record_imports"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "counter_shifts",
        sa.Column("id", ID, nullable=False),
        sa.Column("supermarket_id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("staff_id", ID, nullable=False),
        sa.Column("opened_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_staff_id", ID, nullable=True),
        sa.Column("declared_baskets", sa.Integer(), nullable=True),
        sa.Column("declared_refunds", sa.Integer(), nullable=True),
        sa.Column("booked_baskets", sa.Integer(), nullable=True),
        sa.Column("booked_refunds", sa.Integer(), nullable=True),
        sa.Column("booked_coins_taken", sa.BigInteger(), nullable=True),
        sa.Column("booked_coins_refunded", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "declared_baskets >= 0 AND declared_refunds >= 0",
            name=op.f("ck_counter_shifts_declared_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_staff_id"], ["staff.id"], name=op.f("fk_counter_shifts_closed_by_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_counter_shifts_community_id_communities")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_counter_shifts_staff_id_staff")),
        sa.ForeignKeyConstraint(
            ["supermarket_id"], ["supermarkets.id"], name=op.f("fk_counter_shifts_supermarket_id_supermarkets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_shifts")),
    )
    with op.batch_alter_table("counter_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_counter_shifts_staff_id_opened_at", ["staff_id", "opened_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_counter_shifts_supermarket_id"), ["supermarket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("counter_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_shifts_supermarket_id"))
        batch_op.drop_index("ix_counter_shifts_staff_id_opened_at")
    op.drop_table("counter_shifts")
