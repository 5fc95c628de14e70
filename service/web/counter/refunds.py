"""Refunds at the counter: find the basket, refund all or some items with a reason."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...auth.access import access
from ...errors import DomainError
from ...extensions import db
from ...market import operations as market
from ..core import bp, error_text, principal
from ..forms import form_values, ledger_key, once
from . import COUNTER, problem_lines, this_supermarket


@bp.get("/counter/refunds")
@access(*COUNTER)
def counter_refunds():
    """Recent baskets of this supermarket, to pick the one to refund."""
    supermarket = this_supermarket()
    number = request.args.get("number", "").strip()
    redemptions = market.list_redemptions(db.session, principal(), supermarket_id=supermarket.id, limit=30)
    if number:
        redemptions = [r for r in redemptions if number in r.number]
    return render_template("counter/refunds.html", redemptions=redemptions, number=number)


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
