"""market: an optional barcode (EAN-8/13, UPC-A, GTIN-14) on products, unique within a supermarket

Revision ID: 0014_product_barcode
Revises: 0013_household_head
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_product_barcode"
down_revision = "0013_household_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("barcode", sa.String(length=14), nullable=True))
        batch.create_unique_constraint("uq_products_supermarket_id_barcode", ["supermarket_id", "barcode"])


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("uq_products_supermarket_id_barcode", type_="unique")
        batch.drop_column("barcode")
