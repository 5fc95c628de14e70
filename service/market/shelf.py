"""Keeping the shelf true: stock-takes (盘点) and price changes from a date.

A stock-take records what was counted; each difference from the stored count is posted through
``stock`` as a movement with the reason (damaged, expired, lost, found), so stock still moves only by
recorded movements and reconciliation still finds stock = sum of movements. A price change from a
date applies on that (local) date: at once when the date has come, else by the nightly job; a basket
always keeps the price it was sold at.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..errors import Invalid
from ..listing import keyset_page
from ..localtime import local
from ..rows import get_row
from . import stock
from .lines import refuse_duplicates, resolve_products
from .models import PriceChange, Product, StockTake, StockTakeLine
from .scope import get_supermarket, require_reader, scope_to_supermarkets

STOCK_TAKE_REASONS = ("damaged", "expired", "lost", "found")


def take_stock(
    session: Session, principal: Principal, *, supermarket_id: int, reason: str, lines: list[dict], note: str = "",
) -> StockTake:
    """Count the shelf: each line names a product (``product_id`` or ``sku``) and ``counted``; the
    difference from the stored count becomes a recorded stock movement (audit-logged)."""
    supermarket = get_supermarket(session, supermarket_id)
    principal.require_supermarket(supermarket.id, supermarket.community_id)
    if reason not in STOCK_TAKE_REASONS:
        raise Invalid("reason is damaged, expired, lost or found", code="invalid_stock_take_reason")
    if not lines:
        raise Invalid("a stock-take needs at least one line", code="empty_stock_take")
    refuse_duplicates(lines)
    resolved = resolve_products(session, supermarket.id, lines)
    problems = [problem for _product, problem in resolved if problem]
    if problems:
        raise Invalid("the stock-take names products that are not in this supermarket", code="stock_take_refused",
                      lines=problems)
    counted = {product.id: line["counted"] for (product, _), line in zip(resolved, lines, strict=True)}
    at = utcnow()
    take = StockTake(supermarket_id=supermarket.id, community_id=supermarket.community_id, reason=reason, note=note,
                     staff_id=principal.staff_id, created_at=at)
    session.add(take)
    session.flush()
    moved, recorded = [], []
    for product_id in sorted(counted):  # the lock order of ``stock``
        product = get_row(session, Product, product_id, what="product", lock=True)
        difference = counted[product_id] - product.stock
        recorded.append({"stock_take_id": take.id, "product_id": product_id, "expected": product.stock,
                         "counted": counted[product_id], "difference": difference})
        if difference:
            moved.append((product_id, difference, stock.put(session, product_id, difference)))
    wrong = [r["product_id"] for r in recorded if r["difference"] and (r["difference"] > 0) != (reason == "found")]
    if wrong:
        # Raised before anything is flushed to the movements; the unit of work rolls back the rest.
        raise Invalid("a loss (damaged, expired, lost) can only lower a count and found goods only raise it: "
                      "count those lines in a stock-take of their own", code="stock_take_reason_mismatch",
                      product_ids=wrong)
    session.add_all(StockTakeLine(**row) for row in recorded)
    if moved:
        stock.record_movements(session, supermarket_id=supermarket.id, reason=reason, moved=moved, at=at,
                               stock_take_id=take.id)
    session.flush()
    record_audit(
        session, principal=principal, action="stock.take", target_type="stock_take", target_id=take.id,
        community_id=supermarket.community_id,
        after={"reason": reason, "note": note,
               "differences": {str(r["product_id"]): r["difference"] for r in recorded if r["difference"]}},
    )
    return take


def stock_take_view(session: Session, take: StockTake) -> dict:
    lines = session.scalars(select(StockTakeLine).where(StockTakeLine.stock_take_id == take.id)
                            .order_by(StockTakeLine.product_id)).all()
    return {
        "id": take.id, "supermarket_id": take.supermarket_id, "reason": take.reason, "note": take.note,
        "staff_id": take.staff_id, "created_at": take.created_at,
        "lines": [{"product_id": ln.product_id, "expected": ln.expected, "counted": ln.counted,
                   "difference": ln.difference} for ln in lines],
    }


def get_stock_take(session: Session, principal: Principal, stock_take_id: int) -> StockTake:
    take = get_row(session, StockTake, stock_take_id, what="stock-take")
    require_reader(principal, take.supermarket_id, take.community_id, what="stock-take")
    return take


def list_stock_takes(session: Session, principal: Principal, *, supermarket_id: int | None = None,
                     limit: int = 50, before: int | None = None) -> list[StockTake]:
    query = scope_to_supermarkets(select(StockTake), StockTake, principal, supermarket_id, session)
    return keyset_page(session, query, StockTake, limit=limit, before=before)


# --- price changes ---------------------------------------------------------------------------------


def local_today() -> dt.date:
    return local(utcnow()).date()


def change_price(session: Session, principal: Principal, product_id: int, *, price: int,
                 effective_on: dt.date | None = None) -> PriceChange:
    """A new price from ``effective_on`` (default today, local): applied at once when the date has
    come, else by the nightly job on that date (audit-logged)."""
    product = get_row(session, Product, product_id, what="product", lock=True)
    principal.require_admin_of(product.community_id)
    today = local_today()
    effective_on = effective_on or today
    if effective_on < today:
        raise Invalid("a price changes from today or a later date; past baskets keep their price",
                      code="price_change_in_past")
    change = PriceChange(product_id=product.id, community_id=product.community_id, old_price=product.price,
                         price=price, effective_on=effective_on, created_by=principal.staff_id)
    session.add(change)
    session.flush()
    record_audit(session, principal=principal, action="product.price_change", target_type="product",
                 target_id=product.id, community_id=product.community_id,
                 before={"price": product.price}, after={"price": price, "effective_on": effective_on})
    if effective_on <= today:
        _apply(session, change, product)
    return change


def _apply(session: Session, change: PriceChange, product: Product) -> None:
    change.old_price = product.price
    product.price = change.price
    product.updated_at = change.applied_at = utcnow()
    session.flush()


def apply_due_price_changes(session: Session, today: dt.date) -> int:
    """Apply every price change whose date has come (oldest first; the latest one wins)."""
    due = session.scalars(
        select(PriceChange).where(PriceChange.applied_at.is_(None), PriceChange.effective_on <= today)
        .order_by(PriceChange.effective_on, PriceChange.id)
    ).all()
    for change in due:
        _apply(session, change, get_row(session, Product, change.product_id, what="product", lock=True))
    return len(due)


def price_changes(session: Session, principal: Principal, product_id: int) -> list[PriceChange]:
    product = get_row(session, Product, product_id, what="product")
    require_reader(principal, product.supermarket_id, product.community_id, what="product")
    return session.scalars(select(PriceChange).where(PriceChange.product_id == product.id)
                           .order_by(PriceChange.id.desc())).all()
