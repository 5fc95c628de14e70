"""Sign-in sheets at the desk: a template to download, an upload read by the volunteering domain's
``sheet_files`` (CSV in any Excel encoding or XLSX, Excel's date forms), and a result per row that
names the row, the column, the rule and the person. The rows go to ``create_batch``."""

from __future__ import annotations

import csv
import io

from flask import Response
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import select

from ...auth.access import access
from ...members.models import Member
from ...volunteering import sheet_files
from ...volunteering.models import ServiceRecord
from ..core import bp, error_message
from ..forms import FormInvalid, field_message
from . import DESK

TEMPLATE_HEADERS = ["志愿者编号", "活动", "开始", "结束", "分钟", "备注"]
TEMPLATE_EXAMPLE = ["V000100000001", "环境整治", "2026/11/27 8:00", "2026/11/27 10:00", "", ""]

# Column names as the person sees them in the sheet (the template's Chinese headings).
COLUMN_WORDS = {"volunteer": "志愿者编号", "activity": "活动", "started_at": "开始", "ended_at": "结束",
                "minutes": "分钟", "evidence": "备注"}

# What the person sees for a file that cannot be read at all (the form's field messages).
UNREADABLE = {"empty": "Missing data for required field.", "encoding": "encoding", "unreadable": "unreadable"}


def read_sheet(filename: str, raw: bytes) -> list[dict]:
    """The rows of an uploaded sheet (see ``volunteering.sheet_files``), a file that cannot be read
    reported on the form's ``sheet`` field."""
    try:
        return sheet_files.read_sheet(filename, raw)
    except sheet_files.SheetUnreadable as exc:
        raise FormInvalid({"sheet": [UNREADABLE[exc.reason]]}) from None


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
