"""The cashier's day and the supermarket's month: shift close-out (交班) and daily totals."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from .. import localtime
from ..auth.access import Principal
from ..auth.models import Role, Staff
from ..errors import Forbidden, Invalid, NotFound
from ..localtime import local
from ..members.models import Member
from ..privacy import mask_name
from .models import Redemption, RedemptionLine, Refund, RefundLine
from .scope import readable_supermarket


def line_row(line: RedemptionLine | RefundLine) -> dict:
    """What receipts and close-outs show of a basket or refund line."""
    return {"sku": line.sku, "name": line.name, "quantity": line.quantity, "unit_price": line.unit_price,
            "amount": line.amount}


def default_period(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Today so far in local time: the usual shift close-out."""
    now = now or utcnow()
    start = local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(dt.UTC), now


def close_out(
    session: Session,
    principal: Principal,
    *,
    supermarket_id: int,
    cashier_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict:
    """Shift close-out (交班): one cashier's redemptions and refunds in a period, coins taken and
    goods handed out per SKU. Cashiers close out their own shift; administrators and supervisors any."""
    supermarket = readable_supermarket(session, principal, supermarket_id)
    if principal.role == Role.CASHIER:
        if cashier_id not in (None, principal.staff_id):
            raise Forbidden("a cashier closes out only their own shift")
        cashier_id = principal.staff_id
    if cashier_id is None:
        raise Invalid("name the cashier_id", code="cashier_required")
    cashier = session.get(Staff, cashier_id)
    if cashier is None or cashier.community_id not in (None, supermarket.community_id):
        raise NotFound("cashier not found")
    start, end = _period(start, end)
    return sheet(session, supermarket, cashier, start, end)


def sheet(session: Session, supermarket, cashier: Staff, start: dt.datetime, end: dt.datetime | None) -> dict:
    """The close-out of one cashier's baskets and refunds at one supermarket from ``start`` to ``end``
    (``None``: still open, up to now)."""
    redemptions = session.scalars(
        _within(select(Redemption), Redemption, start, end)
        .where(Redemption.supermarket_id == supermarket.id, Redemption.staff_id == cashier.id)
        .order_by(Redemption.id)
    ).all()
    refunds = session.scalars(
        _within(select(Refund), Refund, start, end)
        .where(Refund.supermarket_id == supermarket.id, Refund.staff_id == cashier.id)
        .order_by(Refund.id)
    ).all()
    goods: dict[tuple[str, str], dict] = {}
    for documents, column, sign in ((redemptions, "out", 1), (refunds, "returned", -1)):
        for ln in (ln for document in documents for ln in document.lines):
            row = goods.setdefault((ln.sku, ln.name), {"sku": ln.sku, "name": ln.name, "out": 0, "returned": 0, "coins": 0})
            row[column] += ln.quantity
            row["coins"] += sign * ln.amount
    coins_taken = sum(r.total for r in redemptions)
    coins_refunded = sum(r.total for r in refunds)
    members = _masked_names(session, {r.member_id for r in redemptions})
    redemption_members = dict(
        session.execute(
            select(Redemption.id, Redemption.member_id).where(Redemption.id.in_({r.redemption_id for r in refunds}))
        ).all()
    ) if refunds else {}
    members.update(_masked_names(session, set(redemption_members.values()) - set(members)))
    return {
        "supermarket_id": supermarket.id,
        "supermarket": supermarket.name,
        "cashier_id": cashier.id,
        "cashier": cashier.name,
        "start": local(start),
        "end": local(end or utcnow()),
        "redemption_count": len(redemptions),
        "refund_count": len(refunds),
        "coins_taken": coins_taken,
        "coins_refunded": coins_refunded,
        "net_coins": coins_taken - coins_refunded,
        "goods": [{**row, "net": row["out"] - row["returned"]} for _, row in sorted(goods.items())],
        "redemptions": [
            {"id": r.id, "number": r.number, "time": local(r.created_at), "resident": members[r.member_id],
             "total": r.total, "lines": [line_row(ln) for ln in r.lines]}
            for r in redemptions
        ],
        "refunds": [
            {"id": r.id, "number": r.number, "time": local(r.created_at),
             "resident": members[redemption_members[r.redemption_id]], "total": r.total, "reason": r.reason,
             "lines": [line_row(ln) for ln in r.lines]}
            for r in refunds
        ],
    }


def _within(query, model, start: dt.datetime, end: dt.datetime | None):
    query = query.where(model.created_at >= start)
    return query if end is None else query.where(model.created_at < end)


def _masked_names(session: Session, member_ids: set[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    return {i: mask_name(n) for i, n in session.execute(select(Member.id, Member.name).where(Member.id.in_(member_ids)))}


MAX_PERIOD = dt.timedelta(days=366)
# Reports cover days in this range; beyond it local/UTC conversions overflow the calendar.
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def _within_calendar(*days: dt.date) -> None:
    if any(not FIRST_DAY <= day <= LAST_DAY for day in days):
        raise Invalid(f"dates run from {FIRST_DAY} to {LAST_DAY}", code="invalid_period")


def _period(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    default_start, default_end = default_period()
    start, end = start or default_start, end or default_end
    _within_calendar(start.date(), end.date())
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if end <= start:
        raise Invalid("the period must end after it starts", code="invalid_period")
    if end - start > MAX_PERIOD:
        raise Invalid("a period is at most 366 days", code="invalid_period")
    return start, end


def daily_totals(
    session: Session, principal: Principal, *, supermarket_id: int, first_day: dt.date | None = None, last_day: dt.date | None = None
) -> dict:
    """A supermarket's totals per local day: baskets, coins in, refunds, coins back, goods out."""
    supermarket = readable_supermarket(session, principal, supermarket_id)
    zone = localtime.zone()
    if last_day is None:
        last_day = local(utcnow()).date()
        if first_day is not None:  # so that first_day alone is always a valid period
            _within_calendar(first_day)
            last_day = min(max(last_day, first_day), first_day + MAX_PERIOD)
    first_day = first_day or last_day.replace(day=1)
    _within_calendar(first_day, last_day)
    if last_day < first_day or (last_day - first_day).days > 366:
        raise Invalid("give first_day <= last_day, at most 366 days apart", code="invalid_period")
    start = dt.datetime.combine(first_day, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    days: dict[dt.date, dict] = defaultdict(
        lambda: {"redemptions": 0, "coins_taken": 0, "refunds": 0, "coins_refunded": 0, "items_out": 0, "items_returned": 0}
    )
    for created_at, total, items in session.execute(
        select(Redemption.created_at, Redemption.total, func.sum(RedemptionLine.quantity))
        .join(RedemptionLine, RedemptionLine.redemption_id == Redemption.id)
        .where(Redemption.supermarket_id == supermarket.id, Redemption.created_at >= start, Redemption.created_at < end)
        .group_by(Redemption.id, Redemption.created_at, Redemption.total)
    ):
        day = days[local(created_at).date()]
        day["redemptions"] += 1
        day["coins_taken"] += int(total)
        day["items_out"] += int(items)
    for created_at, total, items in session.execute(
        select(Refund.created_at, Refund.total, func.sum(RefundLine.quantity))
        .join(RefundLine, RefundLine.refund_id == Refund.id)
        .where(Refund.supermarket_id == supermarket.id, Refund.created_at >= start, Refund.created_at < end)
        .group_by(Refund.id, Refund.created_at, Refund.total)
    ):
        day = days[local(created_at).date()]
        day["refunds"] += 1
        day["coins_refunded"] += int(total)
        day["items_returned"] += int(items)
    rows = [
        {"date": day, **totals, "net_coins": totals["coins_taken"] - totals["coins_refunded"]}
        for day, totals in sorted(days.items())
    ]
    return {
        "supermarket_id": supermarket.id,
        "supermarket": supermarket.name,
        "first_day": first_day,
        "last_day": last_day,
        "days": rows,
        "coins_taken": sum(r["coins_taken"] for r in rows),
        "coins_refunded": sum(r["coins_refunded"] for r in rows),
        "net_coins": sum(r["net_coins"] for r in rows),
    }
