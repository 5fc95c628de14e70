"""Registration at the desk, the way a clerk with a queue works: every problem of the form in one
answer (the schema's and the registration rules'), then straight to the member card to print (QR,
the card code in groups of four, name, community).

The card code is personal data: the card page is only ever the answer to a POST (registering, or
"print the card" on the resident's account page), sent with ``Cache-Control: no-store``, so the code
is never in a URL, a log line or the browser's history."""

from __future__ import annotations

import datetime as dt

import segno
from flask import make_response, render_template, request
from flask_babel import lazy_gettext as _l

from ...auth.access import access
from ...community.operations import get_community
from ...extensions import db
from ...members.operations import get_member
from ...members.phones import MOBILE_PATTERN
from ...members.registration import registration_problems
from ...members.schemas import MemberCreateSchema
from ..core import ERROR_MESSAGES, bp, principal
from ..forms import FormInvalid, load_form
from . import DESK

ERROR_MESSAGES.update({"household_not_found": _l("There is no household with this number.")})

# The registration form's fields in the order the page shows them (the error summary follows it).
REGISTRATION_FIELDS = (
    ("name", _l("Name")),
    ("phone", _l("Phone")),
    ("national_id", _l("National ID number (optional)")),
    ("birth_date", _l("Birth date")),
    ("household_id", _l("Household number (optional)")),
    ("pin", _l("PIN (4 to 8 digits; empty = a PIN is made for you)")),
)


def _typed(name: str, convert):
    raw = request.form.get(name, "").strip()
    try:
        return convert(raw) if raw else None
    except ValueError:
        return None


def registration_data(community_id: int) -> dict:
    """The posted registration, checked by the API's schema and the registration rules together;
    ``FormInvalid`` carries every problem at once."""
    errors: dict[str, str] = {}
    data: dict = {}
    try:
        data = load_form(MemberCreateSchema(), extra={"community_id": community_id})
    except FormInvalid as exc:
        errors = dict(exc.fields)
    problems = registration_problems(
        db.session,
        community_id=community_id,
        national_id=None if "national_id" in errors else _typed("national_id", str),
        birth_date=None if "birth_date" in errors else _typed("birth_date", dt.date.fromisoformat),
        household_id=None if "household_id" in errors else _typed("household_id", int),
    )
    for name, code in problems.items():
        errors.setdefault(name, str(ERROR_MESSAGES.get(code, _l("Please check this."))))
    if errors:
        raise FormInvalid.worded(errors)
    return data


def card_qr_svg(card_code: str) -> str:
    """The card's QR code as inline SVG that scales with its box (a viewBox, no fixed size)."""
    return segno.make(card_code, error="m").svg_inline(border=2, omitsize=True)


def card_page(member_id: int, *, pin: str | None = None, registered: bool = False):
    member = get_member(db.session, member_id)
    principal().require_member(member.id, member.community_id)
    response = make_response(
        render_template(
            "desk/member_card.html",
            member=member,
            community=get_community(db.session, member.community_id),
            qr=card_qr_svg(member.card_code),
            pin=pin,
            registered=registered,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/desk/residents/<int:member_id>/card")
@access(*DESK)
def resident_card_print(member_id: int):
    """The member card to print again (a POST: the code never travels in a URL)."""
    return card_page(member_id)


def registration_context() -> dict:
    return {"registration_fields": REGISTRATION_FIELDS, "mobile_pattern": MOBILE_PATTERN}
