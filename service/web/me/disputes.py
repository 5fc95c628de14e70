"""The resident disputes a line of their own statement (异议) and follows what became of it."""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

import ledger

from ...auth.access import access
from ...auth.models import Role
from ...disputes.operations import list_disputes, open_dispute, policy_for
from ...disputes.schemas import DisputeCreateSchema
from ...extensions import db
from ...members.operations import get_member, member_statement
from ..core import bp, principal
from ..forms import PROBLEMS, failed, form_page, load_form, once
from .dispute_lines import disputed_rows
from .statement import statement_rows


def disputable_lines(session, member) -> list[dict]:
    """Recent statement lines still inside the community's dispute window, in the reader's words."""
    window = policy_for(session, member.community_id).window_days
    since = ledger.utcnow() - dt.timedelta(days=window)
    lines = member_statement(session, member, unit=None, limit=100, before=None).lines
    return statement_rows(session, [line for line in lines if line.created_at >= since], member)


@bp.route("/me/disputes", methods=["GET", "POST"])
@access(Role.RESIDENT)
def resident_disputes():
    """My disputes and their status, and a form to dispute a recent line."""
    who = principal()
    member = get_member(db.session, who.member_id)
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        try:
            data = load_form(DisputeCreateSchema())
            data.pop("member_id", None)
            once(data, lambda s: {"id": open_dispute(s, who, **data).id})
            flash(_("Your dispute was sent. The station must answer by the date shown."), "ok")
            return redirect(url_for("web.resident_disputes"))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc)
    if request.method == "GET" and request.args.get("line", "").isdigit():
        values = {"transaction_id": request.args["line"]}  # "dispute this line" from the statement
    disputes = list_disputes(db.session, who, limit=50)
    return form_page(
        "resident/disputes.html",
        status,
        disputes=disputes,
        disputed=disputed_rows(db.session, disputes),
        lines=disputable_lines(db.session, member),
        window_days=policy_for(db.session, member.community_id).window_days,
        error=error,
        field_errors=field_errors,
        values=values,
    )
