"""Hours given to family (转赠时间) on the resident's phone: pick someone of the household (the relation
is the household's, not typed), or type a family member's volunteer number and say how they are
related (checked against the family rule). Every problem of the form is shown at once, in the
reader's language."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...auth.access import access
from ...auth.models import Role
from ...errors import DomainError
from ...extensions import db
from ...members.operations import get_household, get_member, member_balance
from ...timebank.family import HOUSEHOLD, NAMED_RELATIONS, household_receivers
from ...timebank.operations import list_transfers, transfer_hours
from ...timebank.schemas import TransferCreateSchema
from ...volunteering.operations import find_volunteer
from ..core import ERROR_MESSAGES, bp, error_text, principal
from ..desk import member_names
from ..forms import PROBLEMS, FormInvalid, failed, form_page, load_form, once

ERROR_MESSAGES.update(
    {
        "not_your_hours": _l("You can give only your own hours."),
        "unknown_receiver": _l("The receiver must be a resident of your community."),
        "transfer_to_self": _l("Give the hours to someone else, not to yourself."),
        "invalid_relation": _l("Choose how the receiver is related to you."),
        "not_same_household": _l("This person is not in your household: type their volunteer number and say how you are related."),
        "hour_storage_cap_exceeded": _l("The receiver's time bank would go over the community's storage limit."),
    }
)

# The family relations of service.timebank.family, in words ("the receiver is ...").
RELATION_LABELS = {
    "parent": _l("my parent"),
    "child": _l("my child"),
    "spouse": _l("my spouse"),
    "grandparent": _l("my grandparent"),
    "grandchild": _l("my grandchild"),
    "sibling": _l("my brother or sister"),
    "parent_in_law": _l("my parent-in-law"),
    "child_in_law": _l("my son- or daughter-in-law"),
    HOUSEHOLD: _l("in my household"),
}
BY_NUMBER = "number"


def transfer_form(me, household_people) -> dict:
    """The posted gift as ``transfer_hours`` takes it; ``FormInvalid`` carries every problem at once."""
    form = request.form
    errors: dict[str, str] = {}
    choice = form.get("to", "" if household_people else BY_NUMBER)
    receiver, relation = None, None
    if choice.startswith("member:"):
        receiver = next((m for m in household_people if f"member:{m.id}" == choice), None)
        relation = HOUSEHOLD
        if receiver is None:
            errors["to"] = _("Choose who receives the hours.")
    elif choice == BY_NUMBER:
        typed = form.get("receiver", "").strip()
        relation = form.get("relation", "")
        if not typed:
            errors["receiver"] = _("Type the family member's volunteer number.")
        else:
            try:
                receiver = find_volunteer(db.session, me.community_id, volunteer=typed.upper())
            except DomainError as exc:
                errors["receiver"] = error_text(exc)
        if receiver is not None and receiver.id == me.id:
            errors["receiver"] = str(ERROR_MESSAGES["transfer_to_self"])
        if relation not in NAMED_RELATIONS:
            errors["relation"] = str(ERROR_MESSAGES["invalid_relation"])
    else:
        errors["to"] = _("Choose who receives the hours.")
    data: dict = {}
    try:
        data = load_form(TransferCreateSchema(), extra={
            "from_member_id": me.id, "to_member_id": receiver.id if receiver else me.id, "relation": relation or "-",
        })
    except FormInvalid as exc:
        errors.update({k: v for k, v in exc.fields.items() if k in ("minutes", "note")})
    if errors:
        raise FormInvalid.worded(errors)
    return {**data, "receiver_name": receiver.name}


@bp.route("/me/give-hours", methods=["GET", "POST"])
@access(Role.RESIDENT)
def give_hours():
    """A resident gives some of their own time-bank hours to a family member; the relation is
    recorded. A double submit gives once."""
    who = principal()
    me = get_member(db.session, who.member_id)
    household_people = household_receivers(db.session, me)
    error, field_errors, values, status = None, {}, {}, 200
    if request.method == "POST":
        try:
            data = transfer_form(me, household_people)
            name = data.pop("receiver_name")
            once(data, lambda s: {"id": transfer_hours(s, who, **data).id})
            flash(_("Given: %(minutes)s minutes to %(name)s.", minutes=data["minutes"], name=name), "ok")
            return redirect(url_for("web.give_hours"))
        except PROBLEMS as exc:
            error, field_errors, values, status = failed(exc, short_of=_("You do not have that many hours."))
    transfers = list_transfers(db.session, who, limit=20)
    return form_page(
        "resident/give_hours.html",
        status,
        member=me,
        household=get_household(db.session, me.household_id) if me.household_id else None,
        household_people=household_people,
        balance=member_balance(db.session, me),
        relations=[(r, RELATION_LABELS[r]) for r in NAMED_RELATIONS],
        relation_labels=RELATION_LABELS,
        transfers=transfers,
        people=member_names([t.from_member_id for t in transfers] + [t.to_member_id for t in transfers]),
        error=error,
        field_errors=field_errors,
        values=values,
    )
