"""Stock-takes (盘点) whose differences are recorded stock movements, and price changes from a date.

Revision ID: 0017_stock_takes_price_changes
Revises: 0016_member_cards
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime and BigId render through it)

revision = "0017_stock_takes_price_changes"
down_revision = "0016_member_cards"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sqlite_movement_triggers(create: bool) -> None:
    """SQLite's batch mode copies the table, which drops its append-only triggers: put them back."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS stock_movements_no_{action}")
        if create:
            op.execute(
                f"CREATE TRIGGER stock_movements_no_{action} BEFORE {action.upper()} ON stock_movements "
                f"BEGIN SELECT RAISE(ABORT, 'table stock_movements is append-only: {action.upper()} refused'); END"
            )


def upgrade() -> None:
    op.create_table(
        "stock_takes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("supermarket_id", BigId, nullable=False),
        sa.Column("community_id", BigId, nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("staff_id", BigId, nullable=True),
        sa.Column("created_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_stock_takes_community_id_communities")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_stock_takes_staff_id_staff")),
        sa.ForeignKeyConstraint(["supermarket_id"], ["supermarkets.id"], name=op.f("fk_stock_takes_supermarket_id_supermarkets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_takes")),
    )
    with op.batch_alter_table("stock_takes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_takes_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_takes_supermarket_id"), ["supermarket_id"], unique=False)
    op.create_table(
        "stock_take_lines",
        sa.Column("id", BigId, nullable=False),
        sa.Column("stock_take_id", BigId, nullable=False),
        sa.Column("product_id", BigId, nullable=False),
        sa.Column("expected", sa.BigInteger(), nullable=False),
        sa.Column("counted", sa.BigInteger(), nullable=False),
        sa.Column("difference", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_stock_take_lines_product_id_products")),
        sa.ForeignKeyConstraint(["stock_take_id"], ["stock_takes.id"], name=op.f("fk_stock_take_lines_stock_take_id_stock_takes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_take_lines")),
    )
    with op.batch_alter_table("stock_take_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_take_lines_stock_take_id"), ["stock_take_id"], unique=False)
    op.create_table(
        "price_changes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("product_id", BigId, nullable=False),
        sa.Column("community_id", BigId, nullable=False),
        sa.Column("old_price", sa.Integer(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_price_changes_community_id_communities")),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name=op.f("fk_price_changes_created_by_staff")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_price_changes_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_changes")),
    )
    with op.batch_alter_table("price_changes", schema=None) as batch_op:
        batch_op.create_index("ix_price_changes_due", ["applied_at", "effective_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_price_changes_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_price_changes_product_id"), ["product_id"], unique=False)
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stock_take_id", BigId, nullable=True))
        batch_op.create_index(batch_op.f("ix_stock_movements_stock_take_id"), ["stock_take_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_stock_movements_stock_take_id_stock_takes"), "stock_takes", ["stock_take_id"], ["id"]
        )
    _sqlite_movement_triggers(create=True)


def downgrade() -> None:
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_stock_movements_stock_take_id_stock_takes"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_stock_movements_stock_take_id"))
        batch_op.drop_column("stock_take_id")
    _sqlite_movement_triggers(create=True)
    op.drop_table("price_changes")
    op.drop_table("stock_take_lines")
    op.drop_table("stock_takes")
