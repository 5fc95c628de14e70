"""Service record certificates (志愿服务记录证明): an immutable snapshot of a volunteer's approved
hours, issued by staff or the volunteer, that anyone can check by its number."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import Counter

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import ledger
from ledger.chain import canonical_json

from .. import localtime
from ..auth.access import Principal
from ..auth.models import Role
from ..community.models import Community, Station
from ..errors import Forbidden, NotFound
from ..members.operations import get_member
from ..privacy import mask_name
from .models import Certificate, RecordStatus, ServiceRecord

CERTIFICATE_LABEL = "平台记录 (platform record)"


def new_certificate_number(today: dt.date) -> str:
    return f"GC{today:%Y%m%d}-{secrets.token_hex(5).upper()}"


def issue_certificate(session: Session, principal: Principal, member_id: int) -> Certificate:
    """Snapshot the volunteer's approved hours now; the certificate never changes afterwards."""
    member = get_member(session, member_id)
    principal.require_member(member.id, member.community_id)
    if principal.role == Role.SUPERVISOR or principal.role == Role.CASHIER:
        raise Forbidden("this role cannot issue certificates")
    community = session.get(Community, member.community_id)
    rows = session.execute(
        select(ServiceRecord.id, ServiceRecord.service_date, ServiceRecord.activity_name, Station.name,
               ServiceRecord.minutes)
        .join(Station, Station.id == ServiceRecord.station_id)
        .where(ServiceRecord.volunteer_id == member.id, ServiceRecord.status == RecordStatus.APPROVED.value)
        .order_by(ServiceRecord.started_at)
    ).all()
    issued_at = ledger.utcnow()
    number = new_certificate_number(localtime.date_of(issued_at))
    snapshot = {
        "label": CERTIFICATE_LABEL,
        "number": number,
        "volunteer_number": member.volunteer_number,
        "name_masked": mask_name(member.name),
        "issuer": community.certificate_issuer or community.name,
        "person_in_charge": community.person_in_charge or None,
        "issued_on": localtime.date_of(issued_at).isoformat(),
        "total_minutes": sum(r.minutes for r in rows),
        "record_count": len(rows),
        "first_service_date": rows[0].service_date.isoformat() if rows else None,
        "last_service_date": rows[-1].service_date.isoformat() if rows else None,
        "records": [
            {"id": r.id, "date": r.service_date.isoformat(), "activity": r.activity_name, "station": r.name,
             "minutes": r.minutes}
            for r in rows
        ],
    }
    certificate = Certificate(
        number=number,
        community_id=member.community_id,
        member_id=member.id,
        issued_by=principal.staff_id,
        issued_at=issued_at,
        snapshot=snapshot,
        content_hash=hashlib.sha256(canonical_json(snapshot).encode()).hexdigest(),
    )
    session.add(certificate)
    session.flush()
    return certificate


def certificate_by_number(session: Session, number: str) -> dict:
    """The public view of a certificate: its masked snapshot and whether it still holds — its hash
    matches and none of its records was reversed since it was issued (those are named)."""
    certificate = session.scalars(select(Certificate).where(Certificate.number == number)).first()
    if certificate is None:
        raise NotFound("no certificate with this number", code="certificate_not_found")
    hash_ok = hashlib.sha256(canonical_json(certificate.snapshot).encode()).hexdigest() == certificate.content_hash
    reversed_records = _reversed_since_issue(session, certificate)
    return {
        **certificate.snapshot, "issued_at": certificate.issued_at, "content_hash": certificate.content_hash,
        "hash_ok": hash_ok, "intact": hash_ok and not reversed_records,
        "reversed_records": reversed_records, "reversed_minutes": sum(r["minutes"] for r in reversed_records),
    }


def _reversed_since_issue(session: Session, certificate: Certificate) -> list[dict]:
    """The certificate's listed records that were reversed after it was issued.

    Since certificates store each record's id, those are looked up by id. A certificate issued before
    then lists its records by date, activity, station and minutes only (its snapshot and hash cannot
    change, so the ids are never added): those entries are matched against the volunteer's records
    that were approved when it was issued (approved by then and not reversed before). Entries alike in
    all four are indistinguishable, so they are counted: if two alike were listed and one of them was
    reversed since, one entry is named as reversed.
    """
    entries = certificate.snapshot.get("records", [])
    listed = {r["id"]: r for r in entries if r.get("id")}
    found = []
    if listed:
        reversed_ids = session.scalars(select(ServiceRecord.id).where(
            ServiceRecord.id.in_(listed), ServiceRecord.status == RecordStatus.REVERSED.value
        )).all()
        found = [listed[i] for i in sorted(reversed_ids)]
    unnamed = [r for r in entries if not r.get("id")]
    if unnamed:
        issued = certificate.issued_at
        rows = session.execute(
            select(ServiceRecord.service_date, ServiceRecord.activity_name, Station.name, ServiceRecord.minutes)
            .join(Station, Station.id == ServiceRecord.station_id)
            .where(
                ServiceRecord.volunteer_id == certificate.member_id,
                ServiceRecord.status == RecordStatus.REVERSED.value,
                ServiceRecord.reversed_at > issued,
                or_(ServiceRecord.approved_at.is_(None), ServiceRecord.approved_at <= issued),
            )
        ).all()
        reversed_alike = Counter((day.isoformat(), activity, station, minutes) for day, activity, station, minutes in rows)
        for entry in unnamed:
            key = (entry.get("date"), entry.get("activity"), entry.get("station"), entry.get("minutes"))
            if reversed_alike[key] > 0:
                reversed_alike[key] -= 1
                found.append(entry)
    return found


def list_certificates(session: Session, principal: Principal, member_id: int):
    member = get_member(session, member_id)
    principal.require_member(member.id, member.community_id)
    return session.scalars(
        select(Certificate).where(Certificate.member_id == member.id).order_by(Certificate.id.desc())
    ).all()
