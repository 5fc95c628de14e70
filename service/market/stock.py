"""Stock moves here and nowhere else: a conditional UPDATE of the stored count and an append-only
``stock_movements`` row per product, in the caller's unit of work.

Products are updated in ascending id (the lock order of the module ``counter``); a decrement
succeeds only while the product is active and has enough stock, so stock never goes negative.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import BigInteger, Integer, String, bindparam, case, func, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ..rows import unnest_insert, unnest_params
from .models import Product, StockMovement

_products = Product.__table__


def take(session: Session, supermarket_id: int, lines: list[dict]) -> list:
    """A basket's stock down in ONE conditional UPDATE: each line (by SKU or product id) loses its
    quantity if its product is in this supermarket, active and has enough stock. Rows are locked in
    ascending id first. Returns the rows taken (id, sku, stock after, price, name, unit); a line
    missing from them was not taken, and the caller refuses the basket (rolling the rest back)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.connection().execute(_take_pg(), {
            "at_supermarket": supermarket_id,
            "skus": [ln.get("sku") for ln in lines],
            "ids": [None if ln.get("sku") else ln["product_id"] for ln in lines],
            "quantities": [ln["quantity"] for ln in lines],
        }).all()
    p = _products.c
    quantity = case(
        *[(p.sku == ln["sku"], ln["quantity"]) for ln in lines if ln.get("sku")],
        *[(p.id == ln["product_id"], ln["quantity"]) for ln in lines if not ln.get("sku")],
    )
    named = or_(
        p.sku.in_([ln["sku"] for ln in lines if ln.get("sku")]),
        p.id.in_([ln["product_id"] for ln in lines if not ln.get("sku")]),
    )
    in_order = select(p.id).where(p.supermarket_id == supermarket_id, named).order_by(p.id).with_for_update()
    return session.execute(
        _taking(p.id.in_(in_order.scalar_subquery()), p.supermarket_id == supermarket_id, named, quantity=quantity)
    ).all()


def _taking(*where, quantity):
    p = _products.c
    return (
        _products.update()
        .where(*where, p.active.is_(True), p.stock >= quantity)
        .values(stock=p.stock - quantity)
        .returning(p.id, p.sku, p.stock, p.price, p.name, p.unit)
    )


@functools.cache
def _take_pg():
    """``take`` on PostgreSQL, built once: the lines arrive as three arrays (SKU or id, quantity)."""
    p = _products.c
    wanted = select(
        func.unnest(bindparam("skus", type_=ARRAY(String))).label("sku"),
        func.unnest(bindparam("ids", type_=ARRAY(BigInteger))).label("id"),
        func.unnest(bindparam("quantities", type_=ARRAY(Integer))).label("quantity"),
    ).subquery("wanted")
    here = p.supermarket_id == bindparam("at_supermarket")
    named = or_(p.sku == wanted.c.sku, p.id == wanted.c.id)
    in_order = select(p.id).join(wanted, named).where(here).order_by(p.id).with_for_update(of=_products)
    return _taking(p.id.in_(in_order.scalar_subquery()), here, named, quantity=wanted.c.quantity)


def put(session: Session, product_id: int, quantity: int) -> int:
    """Stock back or in; returns the count after."""
    return session.execute(
        _products.update()
        .where(_products.c.id == product_id)
        .values(stock=_products.c.stock + quantity)
        .returning(_products.c.stock)
    ).scalar_one()


def movement_rows(
    *,
    supermarket_id: int,
    reason: str,
    moved: list[tuple[int, int, int]],
    at: dt.datetime,
    stock_receipt_id: int | None = None,
    redemption_id: int | None = None,
    refund_id: int | None = None,
    stock_take_id: int | None = None,
) -> list[dict]:
    """The rows of ``stock_movements`` (the one table of stock changes): (product_id, signed quantity,
    stock after) for a receipt (+), a basket (−), a refund (+) or a stock-take's difference (±)."""
    return [
        {
            "product_id": product_id, "supermarket_id": supermarket_id, "reason": reason,
            "quantity": quantity, "stock_after": stock_after, "stock_receipt_id": stock_receipt_id,
            "redemption_id": redemption_id, "refund_id": refund_id, "stock_take_id": stock_take_id,
            "created_at": at,
        }
        for product_id, quantity, stock_after in moved
    ]


MOVEMENT_COLUMNS = ("product_id", "supermarket_id", "reason", "quantity", "stock_after", "stock_receipt_id",
                    "redemption_id", "refund_id", "stock_take_id", "created_at")


def movements_insert():
    """The movements as one cacheable PostgreSQL INSERT (a caller writes them in a CTE), bound with
    ``movement_params``."""
    return unnest_insert(StockMovement.__table__, MOVEMENT_COLUMNS)


def movement_params(**movement) -> dict:
    return unnest_params(StockMovement.__table__, MOVEMENT_COLUMNS, movement_rows(**movement))


def record_movements(session: Session, **movement) -> None:
    """Write the movements (see ``movement_rows``) in the caller's unit of work."""
    session.execute(insert(StockMovement.__table__), movement_rows(**movement))
