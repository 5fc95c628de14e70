"""Love supermarkets (爱心超市): catalogue, stock movements, redemptions (baskets) and refunds.

Stock is a stored count on each product, moved only by conditional UPDATEs in the same database
transaction as an append-only ``stock_movements`` row (receipt +, redemption −, refund +), so
reconciliation can check that the stored count equals the sum of its movements.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.models import Base, BigId, UTCDateTime, utcnow

from ..privacy import mask_name

if TYPE_CHECKING:
    from ..members.models import Member


class Product(Base):
    """A catalogue item of one supermarket; its SKU is unique within that supermarket."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("supermarket_id", "sku"),
        UniqueConstraint("supermarket_id", "barcode"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("supermarkets.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    barcode: Mapped[str | None] = mapped_column(String(14))  # EAN-8/13, UPC-A, GTIN-14 as printed on the goods
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(16), default="件")  # 件, 袋, 瓶 … as printed on receipts
    price: Mapped[int] = mapped_column(Integer)  # whole coins per unit
    stock: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockReceipt(Base):
    """Goods coming in (入库): a donation (捐赠) or a purchase (采购), with its source and a note."""

    __tablename__ = "stock_receipts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("supermarkets.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # donation | purchase
    source: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    movements: Mapped[list[StockMovement]] = relationship(
        order_by="StockMovement.id", lazy="selectin", viewonly=True
    )


class Redemption(Base):
    """One basket paid with coins (兑换): wallet → supermarket till in one ledger transaction."""

    __tablename__ = "redemptions"
    __table_args__ = (
        Index("ix_redemptions_supermarket_id_created_at", "supermarket_id", "created_at"),
        CheckConstraint("total > 0", name="total_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("supermarkets.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    paid_from: Mapped[str] = mapped_column(String(16))  # member | household
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    wallet_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    total: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[RedemptionLine]] = relationship(
        order_by="RedemptionLine.id", lazy="selectin", viewonly=True
    )
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.id", viewonly=True)
    member: Mapped[Member] = relationship(viewonly=True)

    @property
    def number(self) -> str:
        """The receipt number printed for the resident: supermarket and redemption id."""
        return f"R{self.supermarket_id:04d}-{self.id:08d}"

    @property
    def resident(self) -> str:
        return mask_name(self.member.name)

    @property
    def refunded_total(self) -> int:
        return sum(r.total for r in self.refunds)

    @property
    def status(self) -> str:
        if not self.refunds:
            return "completed"
        return "refunded" if self.refunded_total == self.total else "partly_refunded"


class RedemptionLine(Base):
    """One SKU × quantity of a basket, at the catalogue price of that moment.

    ``refunded_quantity`` only grows, by a conditional UPDATE that can never pass ``quantity``,
    so no line is refunded twice even by concurrent requests.
    """

    __tablename__ = "redemption_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refund_within_quantity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(16), default="件")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)


class Refund(Base):
    """Goods brought back (退货): coins till → wallet and stock back up, whole or by line."""

    __tablename__ = "redemption_refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), index=True)
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("supermarkets.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    whole: Mapped[bool] = mapped_column(Boolean)
    total: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    lines: Mapped[list[RefundLine]] = relationship(order_by="RefundLine.id", lazy="selectin", viewonly=True)

    @property
    def number(self) -> str:
        return f"F{self.supermarket_id:04d}-{self.id:08d}"


class RefundLine(Base):
    __tablename__ = "redemption_refund_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("redemption_refunds.id"), index=True)
    redemption_line_id: Mapped[int] = mapped_column(ForeignKey("redemption_lines.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)


class StockMovement(Base):
    """One append-only change of a product's stock: receipt +, redemption −, refund +."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        CheckConstraint("stock_after >= 0", name="stock_after_non_negative"),
        Index("ix_stock_movements_product_id_id", "product_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("supermarkets.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # receipt | redemption | refund | damaged | expired | lost | found
    quantity: Mapped[int] = mapped_column(Integer)  # signed
    stock_after: Mapped[int] = mapped_column(BigInteger)
    stock_receipt_id: Mapped[int | None] = mapped_column(ForeignKey("stock_receipts.id"), index=True)
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("redemption_refunds.id"), index=True)
    stock_take_id: Mapped[int | None] = mapped_column(ForeignKey("stock_takes.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockTake(Base):
    """A stock-take (盘点): what was counted on the shelf; each difference from the stored count is
    posted as a stock movement with the reason (damaged, expired, lost, found)."""

    __tablename__ = "stock_takes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("supermarkets.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # damaged | expired | lost | found
    note: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockTakeLine(Base):
    __tablename__ = "stock_take_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stock_take_id: Mapped[int] = mapped_column(ForeignKey("stock_takes.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    expected: Mapped[int] = mapped_column(BigInteger)  # the stored count when counted
    counted: Mapped[int] = mapped_column(BigInteger)
    difference: Mapped[int] = mapped_column(BigInteger)  # counted - expected, posted as a movement


class PriceChange(Base):
    """A product's new price from a date (local); baskets keep the price they were sold at."""

    __tablename__ = "price_changes"
    __table_args__ = (Index("ix_price_changes_due", "applied_at", "effective_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    old_price: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)
    effective_on: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Shift(Base):
    """A cashier's shift (班次) at one supermarket: from opening to the close-out (交班).

    Nothing is counted at opening: coins are ledger entries, not cash in a drawer. A basket or refund
    belongs to the shift when its cashier made it at this supermarket while the shift was open, so the
    close-out covers exactly the shift. At closing the cashier declares the paper they hold (basket
    receipts and refund slips) and the books' counts are kept beside them; the row changes once."""

    __tablename__ = "counter_shifts"
    __table_args__ = (
        Index("ix_counter_shifts_staff_id_opened_at", "staff_id", "opened_at"),
        CheckConstraint("declared_baskets >= 0 AND declared_refunds >= 0", name="declared_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("supermarkets.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    declared_baskets: Mapped[int | None] = mapped_column(Integer)
    declared_refunds: Mapped[int | None] = mapped_column(Integer)
    booked_baskets: Mapped[int | None] = mapped_column(Integer)
    booked_refunds: Mapped[int | None] = mapped_column(Integer)
    booked_coins_taken: Mapped[int | None] = mapped_column(BigInteger)
    booked_coins_refunded: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")

    @property
    def number(self) -> str:
        return f"S{self.supermarket_id:04d}-{self.id:06d}"
