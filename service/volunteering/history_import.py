"""A scheme's historical volunteer hours (``greencoin import-service-records``): the columns of the
desk's sign-in sheet plus ``status`` (approved / pending / rejected) and ``approver`` (a staff
username), one result per row.

Every row goes through the same steps as the desk: ``create_service_record`` logs it as the
recorder (the operator named on the command line), then ``approve_service_record`` or
``reject_service_record`` as the named approver, so approved hours post their hours and coins
through the one approval path, with its rules. In particular four-eyes holds (a recorder cannot be
the approver of the row), and since historical rows are late entries (补录) the approver of an
``approved`` row must be an administrator of the community: a station clerk's approval would only
verify the record, so such a row is reported as an error instead of being left half-approved.

Each row runs in its own savepoint: a bad row is reported and skipped and leaves nothing behind.
Re-runs are idempotent: an imported row is remembered by a keyed digest of its content (HMAC under
the personal-data key, so the stored key reveals nothing of the row), and a row whose service was
recorded already (same volunteer, station, start and end, e.g. entered at the desk) reports
``exists`` and is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger.chain import canonical_json

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..auth.models import Staff
from ..auth.operations import principal_for_staff
from ..errors import DomainError, Invalid
from ..members.models import Member
from ..privacy import keyed_digest
from .models import RecordStatus, ServiceRecord, ServiceRecordImport
from .operations import DUPLICATE, approve_service_record, create_service_record, reject_service_record
from .schemas import BatchRowSchema

# Headings beyond the sign-in sheet's, in English or Chinese.
HISTORY_COLUMNS = {
    "status": "status", "状态": "status", "审核状态": "status",
    "approver": "approver", "审核人": "approver", "批准人": "approver",
    "reason": "reason", "驳回原因": "reason", "原因": "reason",
}
STATUS_WORDS = {
    "approved": RecordStatus.APPROVED, "已批准": RecordStatus.APPROVED, "已通过": RecordStatus.APPROVED,
    "通过": RecordStatus.APPROVED, "pending": RecordStatus.PENDING, "待审核": RecordStatus.PENDING,
    "rejected": RecordStatus.REJECTED, "已驳回": RecordStatus.REJECTED, "驳回": RecordStatus.REJECTED,
}
VOLUNTEER_NUMBER = re.compile(r"^V\d{12}$")  # shown as given; anything else (a card code) is not echoed
DEFAULT_REJECT_REASON = "rejected in the old scheme (imported)"

# The column a domain rule is about, so a row's error names the cell to fix.
RULE_COLUMNS = {
    "volunteer_required": "volunteer", "unknown_volunteer": "volunteer", "member_inactive": "volunteer",
    "activity_required": "activity", "unknown_activity": "activity", "activity_inactive": "activity",
    "end_not_after_start": "ended_at", "record_too_long": "ended_at", "record_in_future": "ended_at",
    "invalid_minutes": "minutes", "minutes_exceed_span": "minutes", "overlapping_record": "started_at",
    "four_eyes": "approver", "forbidden": "approver", "unknown_approver": "approver",
    "approver_required": "approver", "needs_administrator": "approver", "invalid_status": "status",
}


class RowError(Invalid):
    """A rule a history row breaks, with the column it is about."""

    def __init__(self, message: str, *, code: str, column: str, **details):
        super().__init__(message, code=code, column=column, **details)


def row_key(station_id: int, row: dict) -> str:
    """The row's idempotency key: a keyed digest of its content (never the content itself)."""
    content = canonical_json({"station_id": station_id, "row": {k: str(v) for k, v in row.items()}})
    return keyed_digest(content, purpose="service-record-import")


def import_service_records(
    session: Session, recorder: Principal, station_id: int, rows: list[dict], *, first_row: int = 2
) -> Iterator[dict]:
    """Import ``rows`` (as ``sheet_files.read_sheet`` gives them) for the station, yielding one result
    per row: ``{"row", "person", "status": created | exists | error, ...}``. ``row`` is the row
    number in the spreadsheet (the heading is row 1)."""
    if not any(HISTORY_COLUMNS.get(k) == "status" for row in rows for k in row):
        raise Invalid("the sheet has no status column (approved / pending / rejected)", code="no_status_column",
                      expected=sorted(k for k, v in HISTORY_COLUMNS.items() if v == "status"))
    return _import_rows(session, recorder, station_id, rows, first_row)


def _import_rows(session, recorder, station_id, rows, first_row) -> Iterator[dict]:
    approvers: dict[str, Principal] = {}
    for number, raw in enumerate(rows, start=first_row):
        history = {HISTORY_COLUMNS[k]: v for k, v in raw.items() if k in HISTORY_COLUMNS}
        fields = {k: v for k, v in raw.items() if k not in HISTORY_COLUMNS}
        given = str(fields.get("volunteer_number") or fields.get("volunteer") or "").strip().upper()
        person = {"volunteer_number": given if VOLUNTEER_NUMBER.match(given) else None, "name": None}
        try:
            with session.begin_nested():
                result = _import_row(session, recorder, station_id, fields, history, raw, approvers, person)
            yield {"row": number, **person, **result}
        except ValidationError as exc:
            column, messages = next(iter(exc.messages.items())) if isinstance(exc.messages, dict) else ("", exc.messages)
            rule = messages[0] if isinstance(messages, list) and messages else str(messages)
            yield _error(number, person, column, "validation_error", str(rule))
        except (DomainError, ledger.LedgerError) as exc:
            column = (getattr(exc, "details", None) or {}).get("column") or RULE_COLUMNS.get(exc.code, "")
            yield _error(number, person, column, exc.code, exc.message)


def _error(number: int, person: dict, column: str, code: str, message: str) -> dict:
    return {"row": number, **person, "status": "error", "column": column, "code": code, "message": message}


def _import_row(session, recorder, station_id, fields, history, raw, approvers, person) -> dict:
    key = row_key(station_id, raw)
    done = session.get(ServiceRecordImport, key)
    if done is not None:
        record = session.get(ServiceRecord, done.service_record_id)
        _name(session, record.volunteer_id, person)
        return {"status": "exists", "service_record_id": record.id, "record_status": record.status}
    status = STATUS_WORDS.get(str(history.get("status", "")).strip().lower())
    if status is None:
        raise RowError("status must be approved, pending or rejected", code="invalid_status", column="status")
    approver = None
    if status != RecordStatus.PENDING:
        approver = _approver(session, history.get("approver"), approvers)
    data = BatchRowSchema().load(fields)
    try:
        record = create_service_record(session, recorder, station_id=station_id, **data)
    except DomainError as exc:
        if exc.code != DUPLICATE:
            raise
        record = session.get(ServiceRecord, exc.details["service_record_id"])
        _name(session, record.volunteer_id, person)
        return {"status": "exists", "service_record_id": record.id, "record_status": record.status}
    _name(session, record.volunteer_id, person)
    if status == RecordStatus.APPROVED:
        record = approve_service_record(session, approver, record.id)
        if record.status != RecordStatus.APPROVED.value:  # only verified: a late entry needs an administrator
            raise RowError(
                "a late entry (补录) is approved by an administrator of the community", code="needs_administrator",
                column="approver", reasons=record.review_reasons,
            )
    elif status == RecordStatus.REJECTED:
        reason = str(history.get("reason") or "").strip()[:1000] or DEFAULT_REJECT_REASON
        record = reject_service_record(session, approver, record.id, reason=reason)
    session.add(ServiceRecordImport(import_key=key, service_record_id=record.id))
    record_audit(
        session, principal=recorder, action="service_record.import", target_type="service_record",
        target_id=record.id, community_id=record.community_id,
        after={"status": record.status, "approver_staff_id": approver.staff_id if approver else None,
               "coins": record.coins, "minutes": record.minutes},
    )
    session.flush()
    return {"status": "created", "service_record_id": record.id, "record_status": record.status,
            "coins": record.coins}


def _approver(session: Session, username, cache: dict) -> Principal:
    username = str(username or "").strip()
    if not username:
        raise RowError("an approved or rejected row names its approver", code="approver_required", column="approver")
    if username not in cache:
        staff = session.scalars(select(Staff).where(Staff.username == username, Staff.active.is_(True))).first()
        if staff is None:
            raise RowError("no active staff member has this username", code="unknown_approver", column="approver")
        cache[username] = principal_for_staff(staff)
    return cache[username]


def _name(session: Session, member_id: int, person: dict) -> None:
    """The row's person as the report shows them: volunteer number and name (never a card code)."""
    member = session.get(Member, member_id)
    person.update(volunteer_number=member.volunteer_number, name=member.name)
