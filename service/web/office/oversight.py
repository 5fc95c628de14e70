"""The supervision committee's list (村务监督委员会): every service record or award of the community
with who recorded and approved it, the note, the evidence and its flags; by month and person, a
keyset page at a time. A supervisor flags a row here; an administrator reads the same list."""

from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from ...auth.access import access
from ...auth.models import Role
from ...conduct import supervision
from ...errors import DomainError, Invalid
from ...extensions import db
from ...oversight import operations as oversight
from ...oversight.schemas import MONTH
from ..core import bp, principal
from ..forms import PROBLEMS, failed
from . import OFFICE, office_page, page_community

PAGE = 25
KINDS = ("records", "awards")


def _filters() -> dict:
    kind = request.values.get("kind") if request.values.get("kind") in KINDS else "records"
    month = (request.values.get("month") or "").strip()
    person = (request.values.get("person") or "").strip()[:100]
    return {"kind": kind, "month": month if re.match(MONTH, month) else "", "person": person}


@bp.route("/office/oversight", methods=["GET", "POST"])
@access(*OFFICE)
def office_oversight():
    community = page_community()
    who = principal()
    chosen = _filters()
    if request.method == "POST":
        _flag(who, chosen["kind"])
        return redirect(url_for("web.office_oversight", community=community.id, before=request.form.get("before"),
                                **{k: v for k, v in chosen.items() if v}))
    listing = oversight.list_service_records if chosen["kind"] == "records" else oversight.list_awards
    before = request.args.get("before", type=int)
    try:
        rows = listing(db.session, who, community_id=community.id, month=chosen["month"] or None,
                       person=chosen["person"] or None, limit=PAGE, before=before if before and before > 0 else None)
    except DomainError:  # a month the form let through but the calendar refuses: show the unfiltered list
        rows = listing(db.session, who, community_id=community.id, limit=PAGE)
    return office_page(
        "admin/oversight.html", community=community, rows=rows, before=before, **chosen,
        next_before=rows[-1]["id"] if len(rows) == PAGE else None,
        can_flag=who.role == Role.SUPERVISOR,
    )


def _flag(who, kind: str) -> None:
    reason = request.form.get("reason", "").strip()[:1000]
    target = request.form.get("id", type=int)
    try:
        if not reason or not target:
            raise Invalid("a reason is needed", code="validation_error")
        if kind == "records":
            db.run(lambda s: supervision.flag_service_record(s, who, service_record_id=target, reason=reason))
            flash(_("Flagged: an administrator will keep or reverse the record."), "ok")
        else:
            db.run(lambda s: supervision.flag_award(s, who, award_id=target, reason=reason))
            flash(_("Flagged: an administrator will keep or reverse the award."), "ok")
    except PROBLEMS as exc:
        flash(failed(exc)[0] if getattr(exc, "code", "") != "validation_error" else _("Please give a reason."), "error")
