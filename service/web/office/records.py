"""What the supervisors (村务监督委员会) check, read-only: a service record with who recorded,
verified and approved it, its evidence and what became of it."""

from __future__ import annotations

from sqlalchemy import select

from ...auth.access import access
from ...auth.models import Staff
from ...community.models import Station
from ...extensions import db
from ...members.models import Member
from ...volunteering.operations import get_service_record
from ..core import bp, principal
from . import OFFICE, office_page


def staff_names(*ids: int | None) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(db.session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(wanted))).all())


@bp.get("/office/records/service/<int:record_id>")
@access(*OFFICE)
def supervision_record(record_id: int):
    record = get_service_record(db.session, principal(), record_id)
    names = staff_names(record.recorded_by, record.verified_by, record.admin_approved_by, record.rejected_by,
                        record.reversed_by)
    return office_page(
        "admin/service_record.html",
        record=record,
        volunteer=db.session.get(Member, record.volunteer_id),
        station=db.session.get(Station, record.station_id),
        names=names,
    )
