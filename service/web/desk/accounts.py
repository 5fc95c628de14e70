"""A resident's account at the desk: reset the PIN after checking who they are (the new PIN is
shown once, on the answer page, never in a flash or a URL), report the card lost (a new code), and
deactivate a resident who moved away or died (what they held is posted, and shown). The rules and
the audit log are ``members.lifecycle``'s."""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l

from ...auth.access import access
from ...errors import DomainError
from ...extensions import db
from ...members import lifecycle
from ...members.cards import format_card_code
from ...members.operations import get_member, member_balance
from ...members.schemas import MemberUpdateSchema
from ..core import ERROR_MESSAGES, bp, principal
from ..forms import PROBLEMS, failed, form_page, ledger_key, load_form, once
from . import DESK

ERROR_MESSAGES.update(
    {
        "identity_mismatch": _l("The ID number does not match the one on file. Nothing was changed."),
        "no_national_id_on_file": _l("No ID number is on file for this resident: name the document you checked."),
        "identity_document_required": _l("Name the document you checked."),
        "identity_required": _l("Say how you checked who the resident is."),
        "member_inactive": _l("This resident is deactivated."),
        "no_household": _l("This resident belongs to no household."),
        "reason_required": _l("Please give the reason."),
    }
)


@bp.app_template_filter("card_code")
def card_code_filter(code: str | None) -> str:
    """A card code as printed: groups of four (``ABCD-EFGH-JKMN-PQRS``)."""
    return format_card_code(code)


def account_page(member_id: int, status: int = 200, **context):
    member = get_member(db.session, member_id)
    principal().require_member(member.id, member.community_id)
    return form_page(
        "desk/account.html",
        status,
        member=member,
        balance=member_balance(db.session, member),
        **{"error": None, "field_errors": {}, "values": {}, "pin": None, "card_code": None, "departure": None,
           "saved": False, **context},
    )


@bp.get("/desk/residents/<int:member_id>/account")
@access(*DESK)
def resident_account(member_id: int):
    return account_page(member_id)


@bp.post("/desk/residents/<int:member_id>/pin-reset")
@access(*DESK)
def resident_pin_reset(member_id: int):
    form = request.form
    try:
        _member, pin = db.run(
            lambda s: lifecycle.reset_pin(
                s, principal(), member_id, identity=form.get("identity", ""),
                national_id=form.get("national_id") or None, document=form.get("document") or None,
            )
        )
    except PROBLEMS as exc:
        error, field_errors, values, status = failed(exc)
        values.pop("national_id", None)  # never echo an ID number back
        return account_page(member_id, status, error=error, field_errors=field_errors, values=values)
    return account_page(member_id, pin=pin)  # shown on this answer only


@bp.post("/desk/residents/<int:member_id>/card-replacement")
@access(*DESK)
def resident_card_replacement(member_id: int):
    reason = request.form.get("reason", "").strip()
    try:
        if not reason:
            raise DomainError("reason", code="reason_required")
        _member, code = db.run(lambda s: lifecycle.replace_lost_card(s, principal(), member_id, reason=reason))
    except PROBLEMS as exc:
        error, field_errors, values, status = failed(exc)
        return account_page(member_id, status, error=error, field_errors=field_errors, values=values)
    return account_page(member_id, card_code=code)


@bp.post("/desk/residents/<int:member_id>/deactivate")
@access(*DESK)
def resident_deactivate(member_id: int):
    reason = request.form.get("reason", "").strip()
    coins_to = request.form.get("coins_to") or None
    try:
        if not reason:
            raise DomainError("reason", code="reason_required")
        departure = once(
            {"member_id": member_id, "reason": reason, "coins_to": coins_to},
            lambda s: lifecycle.deactivate_member(
                s, principal(), member_id, reason=reason, coins_to=coins_to, idempotency_key=ledger_key()
            ),
        )
    except PROBLEMS as exc:
        error, field_errors, values, status = failed(exc)
        return account_page(member_id, status, error=error, field_errors=field_errors, values=values)
    return account_page(member_id, departure=departure)



@bp.post("/desk/residents/<int:member_id>/edit")
@access(*DESK)
def resident_edit(member_id: int):
    """Correct name and phone; birth date and ID number only when typed (neither is shown here,
    so the ID's last four never sit beside the birth date). Audit-logged."""
    try:
        data = load_form(MemberUpdateSchema())
        changes = {k: v for k, v in data.items() if k in ("name", "phone") or v}
        db.run(lambda s: lifecycle.update_member(s, principal(), member_id, **changes))
    except PROBLEMS as exc:
        error, field_errors, values, status = failed(exc)
        values.pop("national_id", None)
        return account_page(member_id, status, error=error, field_errors=field_errors, values=values)
    return account_page(member_id, saved=True)
