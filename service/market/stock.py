"""Stock moves here and nowhere else: a conditional UPDATE of the stored count and an append-only
``stock_movements`` row per product, in the caller's unit of work.

Products are updated in ascending id (the lock order of the module ``counter``); a decrement
succeeds only while the product is active and has enough stock, so stock never goes negative.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .models import Product, StockMovement

_products = Product.__table__


class Taken(NamedTuple):
    """A product's row as a decrement left it: what a basket line records."""

    stock: int
    price: int
    sku: str
    name: str
    unit: str


def take(session: Session, product_id: int, quantity: int) -> Taken | None:
    """Conditional decrement; None when the product is inactive or has too little stock."""
    row = session.execute(
        _products.update()
        .where(_products.c.id == product_id, _products.c.active.is_(True), _products.c.stock >= quantity)
        .values(stock=_products.c.stock - quantity)
        .returning(_products.c.stock, _products.c.price, _products.c.sku, _products.c.name, _products.c.unit)
    ).first()
    return Taken(*row) if row is not None else None


def put(session: Session, product_id: int, quantity: int) -> int:
    """Stock back or in; returns the count after."""
    return session.execute(
        _products.update()
        .where(_products.c.id == product_id)
        .values(stock=_products.c.stock + quantity)
        .returning(_products.c.stock)
    ).scalar_one()


def record_movements(
    session: Session,
    *,
    supermarket_id: int,
    reason: str,
    moved: list[tuple[int, int, int]],
    at: dt.datetime,
    stock_receipt_id: int | None = None,
    redemption_id: int | None = None,
    refund_id: int | None = None,
    stock_take_id: int | None = None,
) -> None:
    """The one writer of ``stock_movements``: one multi-row INSERT of (product_id, signed quantity,
    stock after) for a receipt (+), a basket (−), a refund (+) or a stock-take's difference (±)."""
    session.execute(
        insert(StockMovement),
        [
            {
                "product_id": product_id, "supermarket_id": supermarket_id, "reason": reason,
                "quantity": quantity, "stock_after": stock_after, "stock_receipt_id": stock_receipt_id,
                "redemption_id": redemption_id, "refund_id": refund_id, "stock_take_id": stock_take_id,
                "created_at": at,
            }
            for product_id, quantity, stock_after in moved
        ],
    )
