"""Pages for hours given to family (转赠时间), reversing approved service records, service record
certificates (志愿服务记录证明, labelled 平台记录) with their public check page, and issuance
budgets (积分总额控制). Each calls the same operation as the API."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import ledger

from ..auth.access import access, public
from ..auth.models import Role
from ..errors import DomainError
from ..extensions import db
from ..members.operations import get_member, member_balance
from .admin_pages import OFFICE, page_community
from .core import (
    ERROR_MESSAGES,
    FormInvalid,
    bp,
    error_text,
    form_values,
    load_form,
    once,
    principal,
    render_error,
)
from .desk_pages import DESK, desk_community_id, member_names, staff_names

ERROR_MESSAGES.update(
    {
        "not_your_hours": _l("You can give only your own hours."),
        "unknown_receiver": _l("The receiver must be a resident of your community."),
        "transfer_to_self": _l("Give the hours to someone else, not to yourself."),
        "invalid_relation": _l("Choose how the receiver is related to you."),
        "hour_storage_cap_exceeded": _l("The receiver's time bank would go over the community's storage limit."),
        "certificate_not_found": _l("There is no certificate with this number."),
        "invalid_certificate_number": _l("This is not a certificate number."),
        "invalid_period": _l("The period ends before it starts."),
        "budget_period_overlap": _l("Another budget already covers part of this period."),
    }
)

# The family relations of service.timebank.operations.RELATIONS, in words.
RELATION_LABELS = {
    "parent": _l("my parent"),
    "child": _l("my child"),
    "spouse": _l("my spouse"),
    "grandparent": _l("my grandparent"),
    "grandchild": _l("my grandchild"),
    "sibling": _l("my brother or sister"),
    "parent_in_law": _l("my parent-in-law"),
    "child_in_law": _l("my son- or daughter-in-law"),
}


PROBLEMS = (FormInvalid, DomainError, ledger.LedgerError)


def _failed(exc: Exception, *, short_of: str | None = None):
    """Error text, field errors, the posted values (to fill the form in again) and the status;
    ``short_of`` words a wallet that would go negative (hours rather than coins)."""
    if isinstance(exc, FormInvalid):
        return _("Some fields need attention."), exc.fields, form_values(), 422
    text = error_text(exc)
    if short_of and getattr(exc, "code", "") == "insufficient_balance":
        text = short_of
    return text, {}, form_values(), getattr(exc, "status", 409)


# --- give hours to family ---------------------------------------------------------------------------


@bp.route("/me/give-hours", methods=["GET", "POST"])
@access(Role.RESIDENT)
def give_hours():
    """A resident gives some of their own time-bank hours to a family member (by volunteer number or
    card code); the relation is recorded. A double submit gives once."""
    from ..timebank.operations import RELATIONS, list_transfers, transfer_hours
    from ..timebank.schemas import TransferCreateSchema
    from ..volunteering.operations import find_volunteer

    who = principal()
    me = get_member(db.session, who.member_id)
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        try:
            receiver = request.form.get("receiver", "").strip()
            if not receiver:
                raise FormInvalid({"receiver": ["Missing data for required field."]})
            to_member = find_volunteer(db.session, me.community_id, volunteer=receiver)
            data = load_form(TransferCreateSchema(), extra={"from_member_id": me.id, "to_member_id": to_member.id})
            once(data, lambda s: {"id": transfer_hours(s, who, **data).id})
            flash(_("Given: %(minutes)s minutes to %(name)s.", minutes=data["minutes"], name=to_member.name), "ok")
            return redirect(url_for("web.give_hours"))
        except PROBLEMS as exc:
            error, field_errors, values, status = _failed(exc, short_of=_("You do not have that many hours."))
    transfers = list_transfers(db.session, who, limit=20)
    return render_template(
        "resident/give_hours.html",
        member=me,
        balance=member_balance(db.session, me),
        relations=[(r, RELATION_LABELS.get(r, r)) for r in RELATIONS],
        relation_labels=RELATION_LABELS,
        transfers=transfers,
        people=member_names([t.from_member_id for t in transfers] + [t.to_member_id for t in transfers]),
        error=error,
        field_errors=field_errors,
        values=values,
    ), status


# --- reverse an approved service record -------------------------------------------------------------


@bp.route("/desk/approved", methods=["GET", "POST"])
@access(*DESK)
def desk_approved():
    """Approved service records; station staff (their station) or an administrator reverse one with a
    reason: a ledger reversal of its hours and coins, posted once per form."""
    from ..volunteering.operations import list_service_records, reverse_service_record
    from ..volunteering.schemas import RecordReasonSchema

    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        record_id = request.form.get("record_id", type=int)
        try:
            if record_id is None:
                raise FormInvalid({"record_id": ["Missing data for required field."]})
            data = load_form(RecordReasonSchema())
            body = once(
                {"record_id": record_id, "action": "reverse", **data},
                lambda s: {"status": reverse_service_record(s, who, record_id, **data).status},
            )
            if body["status"] == "reversed":
                flash(_("Reversed: the hours and coins of this record are taken back."), "ok")
            return redirect(url_for("web.desk_approved"))
        except PROBLEMS as exc:
            error, field_errors, values, status = _failed(
                exc, short_of=_("The volunteer has already used these hours or coins, so they cannot be taken back.")
            )
    station_id = who.station_id if who.role == Role.STATION_STAFF else None
    records = list_service_records(
        db.session, who, community_id=desk_community_id(), station_id=station_id, status="approved", limit=100
    )
    return render_template(
        "desk/approved.html",
        records=records,
        staff=staff_names([r.recorded_by for r in records] + [r.verified_by for r in records]),
        volunteers=member_names(r.volunteer_id for r in records),
        error=error,
        field_errors=field_errors,
        values=values,
    ), status


# --- certificates -----------------------------------------------------------------------------------

CERTIFICATE_ISSUERS = (Role.RESIDENT, Role.STATION_STAFF, Role.ADMIN)


@bp.get("/me/certificates")
@access(Role.RESIDENT)
def resident_certificates():
    from ..volunteering.operations import list_certificates

    member_id = principal().member_id
    return render_template(
        "resident/certificates.html", certificates=list_certificates(db.session, principal(), member_id)
    )


@bp.post("/members/<int:member_id>/certificates")
@access(*CERTIFICATE_ISSUERS)
def issue_certificate(member_id: int):
    """Issue a certificate (a resident: for themselves) and open its printable page. A double submit
    of the same form issues one."""
    from ..volunteering.operations import issue_certificate as issue

    who = principal()
    back = url_for("web.resident_certificates") if who.role == Role.RESIDENT else url_for(
        "web.member_detail", member_id=member_id
    )
    try:
        body = once({"member_id": member_id}, lambda s: {"number": issue(s, who, member_id).number})
    except PROBLEMS as exc:
        flash(_failed(exc)[0], "error")
        return redirect(back)
    flash(_("Certificate issued."), "ok")
    return redirect(url_for("web.certificate", number=body["number"]))


@bp.get("/certificates/<number>")
@public
def certificate(number: str):
    """Anyone can check a certificate by its number (no sign-in); the snapshot is masked."""
    from ..volunteering.api import CERTIFICATE_NUMBER
    from ..volunteering.operations import certificate_by_number

    if not CERTIFICATE_NUMBER.fullmatch(number):
        return render_error(str(ERROR_MESSAGES["invalid_certificate_number"]), 404)
    return render_template("certificate.html", cert=certificate_by_number(db.session, number))


@bp.get("/certificates")
@public
def certificate_lookup():
    """Type a certificate's number to check it."""
    from ..volunteering.api import CERTIFICATE_NUMBER

    number = request.args.get("number", "").strip()
    if CERTIFICATE_NUMBER.fullmatch(number):
        return redirect(url_for("web.certificate", number=number))
    error = str(ERROR_MESSAGES["invalid_certificate_number"]) if number else None
    return render_template("certificate_lookup.html", error=error, number=number), 422 if error else 200


# --- issuance budgets -------------------------------------------------------------------------------


@bp.route("/office/budgets", methods=["GET", "POST"])
@access(*OFFICE)
def admin_budgets():
    """Issuance budgets with what is used so far; administrators add one (supervisors read)."""
    from ..conduct.operations import create_budget, list_budgets
    from ..conduct.schemas import BudgetCreateSchema
    from .oversight_pages import _office

    community = page_community()
    who = principal()
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        who.require_admin_of(community.id)
        try:
            data = load_form(BudgetCreateSchema(), extra={"community_id": community.id})
            db.run(lambda s: create_budget(s, who, **data))
            flash(_("Saved."), "ok")
            return redirect(url_for("web.admin_budgets", community=community.id))
        except (FormInvalid, DomainError) as exc:
            error, field_errors, values, status = _failed(exc)
    return _office(
        "admin/budgets.html",
        status,
        community=community,
        budgets=list_budgets(db.session, who, community.id),
        error=error,
        field_errors=field_errors,
        values=values,
    )
