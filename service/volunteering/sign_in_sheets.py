"""Sign-in sheets (签到表): a station logs a batch of service records at once, from JSON rows or a
CSV sheet with Chinese or English headers, with one result per row."""

from __future__ import annotations

import csv
import io

from marshmallow import ValidationError
from sqlalchemy.orm import Session

import ledger

from ..auth.access import Principal
from ..errors import BadRequest, DomainError, Invalid
from .operations import DUPLICATE, create_service_record, get_station
from .schemas import BatchRowSchema

MAX_BATCH_ROWS = 500


def create_batch(session: Session, principal: Principal, station_id: int, rows: list) -> dict:
    """Log a sign-in sheet: one result per row. Each row runs in its own savepoint, so a bad row
    never blocks or half-writes the others; a row already recorded reports ``exists``."""
    if len(rows) > MAX_BATCH_ROWS:
        raise BatchTooLarge(f"a batch has at most {MAX_BATCH_ROWS} rows", rows=len(rows), max_rows=MAX_BATCH_ROWS)
    station = get_station(session, station_id)
    principal.require_station(station.id, station.community_id)
    results = []
    for number, raw in enumerate(rows, start=1):
        try:
            data = BatchRowSchema().load(raw if isinstance(raw, dict) else {})
        except ValidationError as exc:
            results.append(_row_error(number, "validation_error", "the row is not valid", {"fields": exc.messages}))
            continue
        try:
            with session.begin_nested():
                record = create_service_record(session, principal, station_id=station.id, **data)
            results.append({"row": number, "status": "created", "service_record_id": record.id})
        except DomainError as exc:
            if exc.code == DUPLICATE:
                results.append({"row": number, "status": "exists", "service_record_id": exc.details["service_record_id"]})
            else:
                results.append(_row_error(number, exc.code, exc.message, exc.details))
        except ledger.LedgerError as exc:  # pragma: no cover - no posting happens here
            results.append(_row_error(number, exc.code, exc.message, exc.details))
    counts = {status: sum(1 for r in results if r["status"] == status) for status in ("created", "exists", "error")}
    return {"station_id": station.id, **counts, "rows": results}


class BatchTooLarge(DomainError):
    status, code = 413, "batch_too_large"


def _row_error(number: int, code: str, message: str, details: dict) -> dict:
    return {"row": number, "status": "error", "error": {"code": code, "message": message, "details": details}}


CSV_COLUMNS = {
    "start": "started_at",
    "end": "ended_at",
    "开始": "started_at",
    "结束": "ended_at",
    "志愿者": "volunteer",
    "志愿者编号": "volunteer",
    "活动": "activity",
    "时长": "minutes",
    "分钟": "minutes",
    "备注": "evidence",
}


def parse_sign_in_sheet(text: str) -> list[dict]:
    """Rows of a station's CSV sign-in sheet, with Chinese or English headers mapped to batch fields."""
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    try:
        headers = [str(h).strip().lstrip("\ufeff").lower() for h in reader.fieldnames or [] if h is not None]
        known = set(BatchRowSchema().fields)
        if not any(CSV_COLUMNS.get(h, h) in known for h in headers):
            # not a sign-in sheet at all (a wrong file, JSON sent as text/csv): say so instead of "0 created"
            raise Invalid(
                "the sheet has no recognised column", code="no_recognised_columns",
                columns=headers[:20], expected=sorted(known | set(CSV_COLUMNS)),
            )
        for line in reader:
            row = {}
            for key, value in line.items():
                if key is None or value is None or not str(value).strip():
                    continue
                name = key.strip().lstrip("\ufeff").lower()
                row[CSV_COLUMNS.get(name, name)] = value.strip()
            rows.append(row)
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
        raise BadRequest("the sheet is not readable CSV", code="invalid_csv", reason=str(exc)) from None
    if not rows:
        raise Invalid("the sheet has no rows", code="empty_sheet")
    return rows
