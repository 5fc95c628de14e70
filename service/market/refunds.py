"""Goods brought back (退货): a whole basket (a ledger reversal) or some of its lines.

Lock order as in ``counter``: redemption lines (their refunded quantity, by a conditional UPDATE
that can never pass the sold quantity) → ledger accounts → products in ascending id.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import Transaction
from ledger.models import utcnow

from ..auth.access import Principal
from ..community.operations import till_account
from ..errors import Conflict, Invalid
from ..rows import get_row
from . import stock
from .baskets import get_redemption
from .lines import refuse_duplicates
from .models import Redemption, RedemptionLine, Refund, RefundLine
from .scope import get_supermarket

_lines = RedemptionLine.__table__


def refund_redemption(
    session: Session,
    principal: Principal,
    *,
    redemption_id: int,
    reason: str,
    idempotency_key: str,
    lines: list[dict] | None = None,
    at: dt.datetime | None = None,
) -> Refund:
    """Refund a whole basket or some lines (退货), by a cashier of that supermarket or an
    administrator: coins till → the wallet that paid, stock back up. No line is refunded twice."""
    existing = _already_refunded(session, idempotency_key)
    if existing is not None:
        return existing
    redemption = get_row(session, Redemption, redemption_id, what="redemption")
    principal.require_supermarket(redemption.supermarket_id, redemption.community_id)
    if not reason or not reason.strip():
        raise Invalid("a refund needs a reason", code="reason_required")
    current = {
        ln.id: ln
        for ln in session.scalars(
            select(RedemptionLine)
            .where(RedemptionLine.redemption_id == redemption.id)
            .execution_options(populate_existing=True)
        )
    }
    whole = lines is None
    wanted = _wanted_quantities(current, lines)
    untouched = whole and all(ln.refunded_quantity == 0 for ln in current.values())
    _mark_refunded(session, wanted)
    refunded = [(current[i], wanted[i]) for i in sorted(wanted)]
    at = at or utcnow()
    posted = _pay_back(session, principal, redemption, refunded, reason, idempotency_key, untouched)
    moved = [
        (line.product_id, quantity, stock.put(session, line.product_id, quantity))
        for line, quantity in sorted(refunded, key=lambda r: r[0].product_id)
    ]
    refund = Refund(
        redemption_id=redemption.id,
        supermarket_id=redemption.supermarket_id,
        community_id=redemption.community_id,
        transaction_id=posted.transaction_id,
        staff_id=principal.staff_id,
        reason=reason,
        whole=whole,
        total=sum(ln.unit_price * q for ln, q in refunded),
        balance_after=posted.balances[redemption.wallet_account_id],
        created_at=at,
    )
    session.add(refund)
    session.flush()
    session.add_all(
        RefundLine(
            refund_id=refund.id, redemption_line_id=line.id, product_id=line.product_id, sku=line.sku,
            name=line.name, quantity=quantity, unit_price=line.unit_price, amount=line.unit_price * quantity,
        )
        for line, quantity in refunded
    )
    session.flush()
    stock.record_movements(
        session, supermarket_id=redemption.supermarket_id, reason="refund", moved=moved, at=at, refund_id=refund.id
    )
    for line in current.values():
        session.expire(line)  # refunded quantities moved behind the identity map
    return refund


def _already_refunded(session: Session, idempotency_key: str) -> Refund | None:
    return session.scalars(
        select(Refund).join(Transaction, Transaction.id == Refund.transaction_id).where(
            Transaction.idempotency_key == idempotency_key
        )
    ).first()


def _wanted_quantities(current: dict[int, RedemptionLine], lines: list[dict] | None) -> dict[int, int]:
    """Line id → quantity to refund: what is left of every line, or the named lines if they can be."""
    if lines is None:
        wanted = {i: ln.quantity - ln.refunded_quantity for i, ln in current.items() if ln.quantity > ln.refunded_quantity}
        if not wanted:
            raise Conflict("this redemption has been refunded in full already", code="already_refunded")
        return wanted
    if not lines:
        raise Invalid("name at least one line to refund, or omit lines for the whole basket", code="empty_refund")
    refuse_duplicates(lines, lambda ln: ("line", ln["line_id"]))
    problems = []
    for index, line in enumerate(lines):
        found = current.get(line["line_id"])
        if found is None:
            problems.append({"line": index, "line_id": line["line_id"], "code": "unknown_line",
                             "message": "this line is not part of the redemption"})
        elif line["quantity"] > found.quantity - found.refunded_quantity:
            remaining = found.quantity - found.refunded_quantity
            problems.append({
                "line": index, "line_id": found.id, "sku": found.sku, "name": found.name,
                "code": "line_already_refunded" if remaining == 0 else "refund_exceeds_quantity",
                "message": f"{remaining} of {found.quantity} can still be refunded",
                "refundable": remaining, "requested": line["quantity"],
            })
    if problems:
        _refuse_refund(problems)
    return {line["line_id"]: line["quantity"] for line in lines}


def _mark_refunded(session: Session, wanted: dict[int, int]) -> None:
    """Refunded quantities up by a conditional UPDATE that can never pass the sold quantity."""
    lost = []
    for line_id in sorted(wanted):
        row = session.execute(
            _lines.update()
            .where(_lines.c.id == line_id, _lines.c.refunded_quantity + wanted[line_id] <= _lines.c.quantity)
            .values(refunded_quantity=_lines.c.refunded_quantity + wanted[line_id])
            .returning(_lines.c.id)
        ).first()
        if row is None:
            lost.append({"line_id": line_id, "code": "line_already_refunded",
                         "message": "refunded meanwhile by another request"})
    if lost:
        _refuse_refund(lost)


def _pay_back(session, principal, redemption: Redemption, refunded, reason, idempotency_key, untouched: bool):
    """Coins till → the paying wallet: a reversal of the basket if nothing of it was refunded yet."""
    supermarket = get_supermarket(session, redemption.supermarket_id)
    total = sum(ln.unit_price * q for ln, q in refunded)
    details = {
        "description": f"{supermarket.name} 退货 {redemption.number}: "
        + "、".join(f"{ln.name}×{q}" for ln, q in refunded),
        "reason": reason,
        "redemption_id": redemption.id,
        "lines": [{"sku": ln.sku, "name": ln.name, "quantity": q, "unit_price": ln.unit_price} for ln, q in refunded],
    }
    where = f"supermarket:{supermarket.id}"
    if untouched:
        posted = ledger.reverse(
            session, transaction_id=redemption.transaction_id, idempotency_key=idempotency_key, memo=reason,
            actor_id=principal.staff_id, location=where, details=details,
        )
    else:
        posted = ledger.post(
            session,
            lines=[ledger.Line(till_account(session, supermarket).id, -total), ledger.Line(redemption.wallet_account_id, total)],
            idempotency_key=idempotency_key,
            kind="redemption_refund",
            community_id=redemption.community_id,
            memo=reason,
            actor_id=principal.staff_id,
            location=where,
            details=details,
            related_id=redemption.transaction_id,
        )
    if posted.replayed:
        raise ledger.RetryableConflict("the same refund was made concurrently")
    return posted


def _refuse_refund(problems: list[dict]):
    error = Invalid if any(p["code"] == "unknown_line" for p in problems) else Conflict
    raise error("the refund cannot be made, nothing was changed", code="refund_refused", lines=problems)


def get_refund(session: Session, principal: Principal, refund_id: int) -> Refund:
    refund = get_row(session, Refund, refund_id, what="refund")
    get_redemption(session, principal, refund.redemption_id)  # same visibility as its basket
    return refund
