"""Refunds at the counter: find the basket, refund all or some items with a reason."""

from __future__ import annotations

import datetime as dt
import re

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...auth.access import access
from ...errors import DomainError
from ...extensions import db
from ...market import operations as market
from ...market.models import Redemption, Refund
from ...members.models import Member
from ..core import bp, error_text, principal
from ..forms import form_values, ledger_key, once
from . import COUNTER, problem_lines, this_supermarket

PAGE = 25
NUMBER = re.compile(r"^\s*([RF])?(?:(\d{1,4})-)?0*(\d+)\s*$", re.IGNORECASE)


def find_baskets(supermarket, *, number: str, member: str, day: str, before: int | None) -> tuple[list[Redemption], int | None]:
    """This supermarket's baskets over the whole history, newest first, by receipt number (a basket's
    R… or a refund's F…), the resident's volunteer number, or the day; a page at a time."""
    query = market.redemptions_query().where(Redemption.supermarket_id == supermarket.id)
    if number:
        match = NUMBER.match(number)
        if not match:
            return [], None
        wanted = int(match.group(3))
        if (match.group(1) or "").upper() == "F":
            refund = db.session.get(Refund, wanted)
            wanted = refund.redemption_id if refund is not None and refund.supermarket_id == supermarket.id else 0
        query = query.where(Redemption.id == wanted)
    if member:
        query = query.join(Member, Member.id == Redemption.member_id).where(Member.volunteer_number == member)
    if day:
        try:
            local = dt.date.fromisoformat(day)
        except ValueError:
            return [], None
        zone = market.local_zone()
        start = dt.datetime.combine(local, dt.time(), zone).astimezone(dt.UTC)
        query = query.where(Redemption.created_at >= start, Redemption.created_at < start + dt.timedelta(days=1))
    if before:
        query = query.where(Redemption.id < before)
    rows = db.session.scalars(query.order_by(Redemption.id.desc()).limit(PAGE + 1)).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, rows[-1].id if more else None


@bp.get("/counter/refunds")
@access(*COUNTER)
def counter_refunds():
    """Find the basket to refund: by receipt number, volunteer number or day, over the whole history."""
    supermarket = this_supermarket()
    search = {key: request.args.get(key, "").strip()[:40] for key in ("number", "member", "day")}
    baskets, next_before = find_baskets(supermarket, before=request.args.get("before", type=int), **search)
    return render_template("counter/refunds.html", redemptions=baskets, search=search, next_before=next_before)


@bp.route("/counter/refunds/<int:redemption_id>", methods=["GET", "POST"])
@access(*COUNTER)
def counter_refund(redemption_id: int):
    """Refund the whole basket or some items, with a reason; coins and stock go back."""
    who = principal()
    error, problems, values, status = None, [], {}, 200
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        lines = [
            {"line_id": int(name[5:]), "quantity": int(value)}
            for name, value in sorted(request.form.items())
            if name.startswith("line_") and name[5:].isdigit() and value.strip().isdigit() and int(value) > 0
        ]
        whole = request.form.get("whole") == "1"
        try:
            if not reason:
                raise DomainError("reason", code="reason_required")
            if not whole and not lines:
                raise DomainError("empty", code="empty_refund")
            body = once(
                {"redemption_id": redemption_id, "reason": reason, "lines": None if whole else lines},
                lambda s: {
                    "id": market.refund_redemption(
                        s, who, redemption_id=redemption_id, reason=reason,
                        idempotency_key=ledger_key(), lines=None if whole else lines,
                    ).id
                },
            )
            flash(_("Refunded: the coins are back in the wallet."), "ok")
            return redirect(url_for("web.counter_refund_receipt", refund_id=body["id"]))
        except DomainError as exc:
            error, problems, values, status = error_text(exc), problem_lines(exc), form_values(), exc.status
    redemption = market.get_redemption(db.session, who, redemption_id)
    return render_template(
        "counter/refund.html",
        redemption=redemption,
        error=error,
        problems=problems,
        values=values,
    ), status
