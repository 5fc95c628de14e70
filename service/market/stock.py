"""Stock moves here and nowhere else: a conditional UPDATE of the stored count and an append-only
``stock_movements`` row per product, in the caller's unit of work.

Products are updated in ascending id, after any ledger posting of the same unit of work (the lock
order of the module ``counter``); a decrement succeeds only while the product is active, has
enough stock and (when the caller names one) still has the price the caller charged, so stock
never goes negative and nothing is sold at a price it no longer has.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import BigInteger, Integer, String, bindparam, case, func, insert, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from .models import Product, StockMovement

_products = Product.__table__


def take(session: Session, supermarket_id: int, lines: list[dict]) -> list:
    """Stock down in ONE conditional UPDATE: each line (by SKU or product id, with its quantity and
    optionally the ``unit_price`` the caller charged) loses its quantity if its product is in this
    supermarket, active, has enough stock and still has that price. Rows are locked in ascending
    id first. Returns the rows taken (id, sku, stock after, price, name, unit, quantity); a line
    missing from them was not taken, and the caller refuses (rolling the rest back)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.connection().execute(taking(), take_params(supermarket_id, lines)).all()
    p = _products.c
    quantity = case(
        *[(p.sku == ln["sku"], ln["quantity"]) for ln in lines if ln.get("sku")],
        *[(p.id == ln["product_id"], ln["quantity"]) for ln in lines if not ln.get("sku")],
    )
    price = case(
        *[(p.sku == ln["sku"], ln.get("unit_price")) for ln in lines if ln.get("sku")],
        *[(p.id == ln["product_id"], ln.get("unit_price")) for ln in lines if not ln.get("sku")],
    )
    named = or_(
        p.sku.in_([ln["sku"] for ln in lines if ln.get("sku")]),
        p.id.in_([ln["product_id"] for ln in lines if not ln.get("sku")]),
    )
    # FOR NO KEY UPDATE, the lock the UPDATE takes anyway: a row that only names the product by
    # foreign key (a reservation line's KEY SHARE) never blocks it.
    in_order = (
        select(p.id).where(p.supermarket_id == supermarket_id, named).order_by(p.id).with_for_update(key_share=True)
    )
    return session.execute(
        _taking(p.id.in_(in_order.scalar_subquery()), p.supermarket_id == supermarket_id, named,
                quantity=quantity, price=price)
    ).all()


def _taking(*where, quantity, price):
    p = _products.c
    return (
        _products.update()
        .where(*where, p.active.is_(True), p.stock >= quantity, or_(price.is_(None), p.price == price))
        .values(stock=p.stock - quantity)
        .returning(p.id, p.sku, p.stock, p.price, p.name, p.unit, quantity.label("quantity"))
    )


@functools.cache
def taking():
    """``take`` on PostgreSQL, built once, for a statement of its own or a caller's CTE (the basket's
    last statement): the lines arrive as four arrays (SKU or id, quantity, price or NULL), bound with
    ``take_params``."""
    p = _products.c
    wanted = select(
        func.unnest(bindparam("skus", type_=ARRAY(String))).label("sku"),
        func.unnest(bindparam("ids", type_=ARRAY(BigInteger))).label("id"),
        func.unnest(bindparam("quantities", type_=ARRAY(Integer))).label("quantity"),
        func.unnest(bindparam("prices", type_=ARRAY(Integer))).label("price"),
    ).subquery("wanted")
    here = p.supermarket_id == bindparam("at_supermarket")
    named = or_(p.sku == wanted.c.sku, p.id == wanted.c.id)
    in_order = (
        select(p.id).join(wanted, named).where(here).order_by(p.id).with_for_update(of=_products, key_share=True)
    )
    return _taking(p.id.in_(in_order.scalar_subquery()), here, named, quantity=wanted.c.quantity,
                   price=wanted.c.price)


def take_params(supermarket_id: int, lines: list[dict]) -> dict:
    return {
        "at_supermarket": supermarket_id,
        "skus": [ln.get("sku") for ln in lines],
        "ids": [None if ln.get("sku") else ln["product_id"] for ln in lines],
        "quantities": [ln["quantity"] for ln in lines],
        "prices": [ln.get("unit_price") for ln in lines],
    }


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


def movements_of(taken, *, reason: str, sign: int, where, **refs):
    """PostgreSQL: the movements of the rows a ``taking`` CTE took (``taken``), as an INSERT … SELECT
    for the same statement; ``refs`` gives the columns it shares with its caller's rows (supermarket,
    redemption, time) as SQL expressions, ``where`` when to write them at all."""
    row = dict.fromkeys(MOVEMENT_COLUMNS)
    row.update(product_id=taken.c.id, reason=literal(reason), quantity=sign * taken.c.quantity,
               stock_after=taken.c.stock, **refs)
    columns = [name for name in MOVEMENT_COLUMNS if row[name] is not None]
    return insert(StockMovement.__table__).from_select(columns, select(*[row[c] for c in columns]).where(where))


def record_movements(session: Session, **movement) -> None:
    """Write the movements (see ``movement_rows``) in the caller's unit of work."""
    session.execute(insert(StockMovement.__table__), movement_rows(**movement))
