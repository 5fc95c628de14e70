"""What the supervisors (村务监督委员会) check, read-only: a service record with who recorded,
verified and approved it, its evidence and what became of it."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...auth.access import access
from ...auth.models import Role, Staff
from ...community.models import Station
from ...conduct import supervision
from ...conduct.models import DisputeFlag
from ...errors import Invalid
from ...extensions import db
from ...members.models import Member
from ...volunteering.operations import get_service_record
from ..core import ERROR_MESSAGES, bp, principal
from ..forms import PROBLEMS, failed
from . import OFFICE, office_page

ERROR_MESSAGES.update(
    {
        "record_already_flagged": _l("This record already has an open flag."),
        "record_not_flaggable": _l("This record was rejected or reversed already."),
    }
)


def staff_names(*ids: int | None) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(db.session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(wanted))).all())


@bp.route("/office/records/service/<int:record_id>", methods=["GET", "POST"])
@access(*OFFICE)
def supervision_record(record_id: int):
    who = principal()
    record = get_service_record(db.session, who, record_id)
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()[:1000]
        try:
            if not reason:
                raise Invalid("a reason is needed", code="validation_error")
            db.run(lambda s: supervision.flag_service_record(s, who, service_record_id=record.id, reason=reason))
            flash(_("Flagged: an administrator will keep or reverse the record."), "ok")
        except PROBLEMS as exc:
            flash(failed(exc)[0], "error")
        return redirect(url_for("web.supervision_record", record_id=record.id, community=record.community_id))
    names = staff_names(record.recorded_by, record.verified_by, record.admin_approved_by, record.rejected_by,
                        record.reversed_by)
    return office_page(
        "admin/service_record.html",
        record=record,
        volunteer=db.session.get(Member, record.volunteer_id),
        station=db.session.get(Station, record.station_id),
        names=names,
        flags=db.session.scalars(select(DisputeFlag).where(DisputeFlag.service_record_id == record.id)
                                 .order_by(DisputeFlag.id)).all(),
        can_flag=who.role == Role.SUPERVISOR and record.status in ("pending", "approved"),
    )
