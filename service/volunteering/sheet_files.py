"""Sign-in sheet files as stations really have them: CSV saved by any Excel (UTF-8 with or without
BOM, or GB18030/GBK from Chinese Excel) or an XLSX workbook, with dates as Excel writes them
(``2026/11/27 8:00``). Reading only: the desk's upload and ``greencoin import-service-records`` both
turn a file into rows here and leave what happens to the rows to their callers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from openpyxl import load_workbook

from ..errors import Invalid
from .sign_in_sheets import parse_sign_in_sheet

EXCEL_TIME = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:[T ]\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?\s*$"
)


class SheetUnreadable(Invalid):
    """The file is not a sheet we can read; ``reason`` is ``empty``, ``encoding`` or ``unreadable``."""

    code = "sheet_unreadable"

    def __init__(self, reason: str):
        super().__init__(f"the sheet cannot be read ({reason})", code="sheet_unreadable", reason=reason)
        self.reason = reason


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
        raise SheetUnreadable("encoding") from None


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


def xlsx_text(raw: bytes) -> str:
    """The first worksheet of a workbook as CSV text (blank lines dropped, whole numbers without .0)."""
    try:
        sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer for the person
        raise SheetUnreadable("unreadable") from None
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
    return out.getvalue()


def read_sheet(filename: str, raw: bytes) -> list[dict]:
    """The rows of a sheet file (CSV or XLSX), headers mapped to batch fields, Excel's date forms made
    ISO. Columns a sign-in sheet does not know are kept under their lower-cased heading."""
    if not raw.strip():
        raise SheetUnreadable("empty")
    is_xlsx = raw[:2] == b"PK" or filename.lower().endswith(".xlsx")
    rows = parse_sign_in_sheet(xlsx_text(raw) if is_xlsx else decode(raw))
    for row in rows:
        for key in ("started_at", "ended_at"):
            if key in row:
                row[key] = excel_time(row[key])
    return rows
