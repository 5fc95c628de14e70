"""Sign-in sheets as stations really have them: CSV saved by any Excel (UTF-8 with or without BOM, or
GB18030/GBK from Chinese Excel) or an XLSX workbook, dates as Excel writes them (``2026/11/27 8:00``),
a template to download, and a result per row that names the row, the column, the rule and the person.
Only reading the file is done here; the rows go to the volunteering domain's ``create_batch``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from flask import Response
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from ...auth.access import access
from ...members.models import Member
from ...volunteering.models import ServiceRecord
from ...volunteering.sign_in_sheets import parse_sign_in_sheet
from ..core import bp, error_message
from ..forms import FormInvalid, field_message
from . import DESK

TEMPLATE_HEADERS = ["志愿者编号", "活动", "开始", "结束", "分钟", "备注"]
TEMPLATE_EXAMPLE = ["V000100000001", "环境整治", "2026/11/27 8:00", "2026/11/27 10:00", "", ""]

# Column names as the person sees them in the sheet (the template's Chinese headings).
COLUMN_WORDS = {"volunteer": "志愿者编号", "activity": "活动", "started_at": "开始", "ended_at": "结束",
                "minutes": "分钟", "evidence": "备注"}

EXCEL_TIME = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:[T ]\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?\s*$"
)


def decode(raw: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB18030 (a superset of GBK and GB2312)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise FormInvalid({"sheet": ["encoding"]}) from None


def excel_time(value) -> str:
    """An ISO local date-time from what Excel gives: a datetime cell, or text like 2026/11/27 8:00."""
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    text = str(value).strip()
    match = EXCEL_TIME.match(text)
    if not match:
        return text
    year, month, day, hour, minute, second = match.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return text
    return moment.isoformat()


def xlsx_rows(raw: bytes) -> list[dict]:
    try:
        sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer for the person
        raise FormInvalid({"sheet": ["unreadable"]}) from None
    lines = sheet.iter_rows(values_only=True)
    header = next(lines, None) or ()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["" if h is None else str(h) for h in header])
    for line in lines:
        if line is None or all(cell in (None, "") for cell in line):
            continue
        writer.writerow(["" if c is None else (c.isoformat() if isinstance(c, dt.datetime) else
                         str(int(c)) if isinstance(c, float) and c.is_integer() else str(c)) for c in line])
    return parse_sign_in_sheet(out.getvalue())


def read_sheet(filename: str, raw: bytes) -> list[dict]:
    """The rows of an uploaded sheet, with Excel's date forms made ISO."""
    if not raw.strip():
        raise FormInvalid({"sheet": ["Missing data for required field."]})
    rows = xlsx_rows(raw) if raw[:2] == b"PK" or filename.lower().endswith(".xlsx") else parse_sign_in_sheet(decode(raw))
    for row in rows:
        for key in ("started_at", "ended_at"):
            if key in row:
                row[key] = excel_time(row[key])
    return rows


def explain(result: dict, raw_row: dict, names: dict) -> dict:
    """A batch row's result for the person: the sheet's line number (the heading is line 1), the
    person, and for a problem the column and the rule."""
    line = {"line": result["row"] + 1, "status": result["status"],
            "person": names.get(result.get("service_record_id")) or raw_row.get("volunteer", ""), "problems": []}
    if result["status"] == "error":
        error = result["error"]
        fields = (error.get("details") or {}).get("fields") if error.get("code") == "validation_error" else None
        if fields:
            for name, messages in fields.items():
                line["problems"].append(
                    _("column %(column)s: %(rule)s", column=COLUMN_WORDS.get(name, name), rule=field_message(messages))
                )
        else:
            line["problems"].append(error_message(error))
    return line


def explain_batch(session, batch: dict, rows: list[dict]) -> list[dict]:
    ids = [r.get("service_record_id") for r in batch["rows"] if r.get("service_record_id")]
    names = dict(session.execute(
        select(ServiceRecord.id, Member.name).join(Member, Member.id == ServiceRecord.volunteer_id)
        .where(ServiceRecord.id.in_(ids))
    ).all()) if ids else {}
    return [explain(result, rows[result["row"] - 1] if result["row"] <= len(rows) else {}, names)
            for result in batch["rows"]]


@bp.get("/desk/hours/sign-in-sheet.csv")
@access(*DESK)
def sign_in_sheet_template_csv():
    """The template as CSV in UTF-8 with a BOM, so Excel opens the Chinese headings correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(TEMPLATE_EXAMPLE)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="sign-in-sheet.csv"'})


@bp.get("/desk/hours/sign-in-sheet.xlsx")
@access(*DESK)
def sign_in_sheet_template_xlsx():
    book = Workbook()
    sheet = book.active
    sheet.title = "签到表"
    sheet.append(TEMPLATE_HEADERS)
    sheet.append(TEMPLATE_EXAMPLE)
    for column in "ABCDEF":
        sheet.column_dimensions[column].width = 20
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="sign-in-sheet.xlsx"'})
