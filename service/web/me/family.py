"""Hours given to family (转赠时间): a resident gives some of their own time-bank hours to a family
member; the relation is recorded."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...auth.access import access
from ...auth.models import Role
from ...extensions import db
from ...members.operations import get_member, member_balance
from ...timebank.operations import RELATIONS, list_transfers, transfer_hours
from ...timebank.schemas import TransferCreateSchema
from ...volunteering.operations import find_volunteer
from ..core import ERROR_MESSAGES, bp, principal
from ..desk import member_names
from ..forms import PROBLEMS, FormInvalid, failed, form_page, load_form, once

ERROR_MESSAGES.update(
    {
        "not_your_hours": _l("You can give only your own hours."),
        "unknown_receiver": _l("The receiver must be a resident of your community."),
        "transfer_to_self": _l("Give the hours to someone else, not to yourself."),
        "invalid_relation": _l("Choose how the receiver is related to you."),
        "hour_storage_cap_exceeded": _l("The receiver's time bank would go over the community's storage limit."),
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




@bp.route("/me/give-hours", methods=["GET", "POST"])
@access(Role.RESIDENT)
def give_hours():
    """A resident gives some of their own time-bank hours to a family member (by volunteer number or
    card code); the relation is recorded. A double submit gives once."""
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
            error, field_errors, values, status = failed(exc, short_of=_("You do not have that many hours."))
    transfers = list_transfers(db.session, who, limit=20)
    return form_page(
        "resident/give_hours.html",
        status,
        member=me,
        balance=member_balance(db.session, me),
        relations=[(r, RELATION_LABELS.get(r, r)) for r in RELATIONS],
        relation_labels=RELATION_LABELS,
        transfers=transfers,
        people=member_names([t.from_member_id for t in transfers] + [t.to_member_id for t in transfers]),
        error=error,
        field_errors=field_errors,
        values=values,
    )
