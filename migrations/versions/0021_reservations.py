"""reservations: reserve online, pick up at the counter

Revision ID: 0021_reservations
Revises: 0020_untracked_tills
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime and BigId render through it)

revision = "0021_reservations"
down_revision = "0020_untracked_tills"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("supermarket_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("deadline", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hold_transaction_id", ID, nullable=True),
        sa.Column("release_transaction_id", ID, nullable=True),
        sa.Column("redemption_id", ID, nullable=True),
        sa.Column("created_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_reservations_community_id_communities")),
        sa.ForeignKeyConstraint(
            ["hold_transaction_id"], ["ledger_transactions.id"],
            name=op.f("fk_reservations_hold_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_reservations_member_id_members")),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemptions.id"], name=op.f("fk_reservations_redemption_id_redemptions")),
        sa.ForeignKeyConstraint(
            ["release_transaction_id"], ["ledger_transactions.id"],
            name=op.f("fk_reservations_release_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["supermarket_id"], ["supermarkets.id"], name=op.f("fk_reservations_supermarket_id_supermarkets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.UniqueConstraint("code", name=op.f("uq_reservations_code")),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reservations_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_reservations_status_deadline", ["status", "deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_reservations_supermarket_id"), ["supermarket_id"], unique=False)
    op.create_table(
        "reservation_lines",
        sa.Column("id", ID, nullable=False),
        sa.Column("reservation_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_reservation_lines_product_id_products")),
        sa.ForeignKeyConstraint(
            ["reservation_id"], ["reservations.id"], name=op.f("fk_reservation_lines_reservation_id_reservations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservation_lines")),
    )
    with op.batch_alter_table("reservation_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reservation_lines_reservation_id"), ["reservation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reservation_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservation_lines_reservation_id"))
    op.drop_table("reservation_lines")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservations_supermarket_id"))
        batch_op.drop_index("ix_reservations_status_deadline")
        batch_op.drop_index(batch_op.f("ix_reservations_member_id"))
    op.drop_table("reservations")
