"""Receipts (小票: what they show, and printable) and CSV sheets of the cashier's day.

The receipt template lives here rather than in a templates folder so the package needs no data
files of its own; Flask autoescapes ``render_template_string`` output.
"""

from __future__ import annotations

import csv
import io

from flask import Response, render_template_string
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.models import Staff
from ..localtime import local
from ..members.models import Member
from ..privacy import mask_name
from .models import Redemption, Refund
from .reports import line_row
from .scope import get_supermarket


def _staff_name(session: Session, staff_id: int | None) -> str | None:
    return session.scalar(select(Staff.name).where(Staff.id == staff_id)) if staff_id else None


def redemption_receipt(session: Session, redemption: Redemption) -> dict:
    """What the printed receipt shows: no name beyond the masked one, no phone, no card code."""
    supermarket = get_supermarket(session, redemption.supermarket_id)
    member = session.get(Member, redemption.member_id)
    return {
        "kind": "redemption",
        "number": redemption.number,
        "supermarket": supermarket.name,
        "time": local(redemption.created_at),
        "cashier": _staff_name(session, redemption.staff_id),
        "resident": mask_name(member.name),
        "paid_from": redemption.paid_from,
        "lines": [{**line_row(ln), "unit": ln.unit} for ln in redemption.lines],
        "total": redemption.total,
        "balance_after": redemption.balance_after,
        "transaction_id": redemption.transaction_id,
        "redemption_number": None,
        "reason": None,
    }


def refund_receipt(session: Session, refund: Refund) -> dict:
    redemption = session.get(Redemption, refund.redemption_id)
    supermarket = get_supermarket(session, refund.supermarket_id)
    member = session.get(Member, redemption.member_id)
    units = {ln.id: ln.unit for ln in redemption.lines}
    return {
        "kind": "refund",
        "number": refund.number,
        "supermarket": supermarket.name,
        "time": local(refund.created_at),
        "cashier": _staff_name(session, refund.staff_id),
        "resident": mask_name(member.name),
        "paid_from": redemption.paid_from,
        "lines": [{**line_row(ln), "unit": units.get(ln.redemption_line_id, "件")} for ln in refund.lines],
        "total": refund.total,
        "balance_after": refund.balance_after,
        "transaction_id": refund.transaction_id,
        "redemption_number": redemption.number,
        "reason": refund.reason,
    }


RECEIPT_HTML = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} {{ r.number }}</title>
<style>
  body { font-family: "Noto Sans SC", "PingFang SC", sans-serif; max-width: 58mm; margin: 0 auto; font-size: 12px; }
  h1 { font-size: 14px; text-align: center; margin: 4px 0; }
  table { width: 100%; border-collapse: collapse; }
  td, th { padding: 2px 0; text-align: left; }
  td.n, th.n { text-align: right; }
  .total { border-top: 1px dashed #000; font-weight: bold; }
  .meta { color: #333; }
  @media print { button { display: none; } }
</style>
</head>
<body>
<h1>{{ r.supermarket }}</h1>
<p class="meta">{{ title }} · No. {{ r.number }}<br>
时间 Time: {{ r.time.strftime("%Y-%m-%d %H:%M:%S") }}<br>
居民 Resident: {{ r.resident }}<br>
{% if r.cashier %}收银员 Cashier: {{ r.cashier }}<br>{% endif %}
{% if r.redemption_number %}原单 Original: {{ r.redemption_number }}<br>{% endif %}
{% if r.reason %}原因 Reason: {{ r.reason }}<br>{% endif %}
付款 Paid from: {{ "家庭账户 household" if r.paid_from == "household" else "个人账户 own wallet" }}</p>
<table>
  <tr><th>品名 Item</th><th class="n">数量 Qty</th><th class="n">单价</th><th class="n">绿币</th></tr>
  {% for line in r.lines %}
  <tr><td>{{ line.name }}</td><td class="n">{{ line.quantity }}{{ line.unit }}</td>
      <td class="n">{{ line.unit_price }}</td><td class="n">{{ line.amount }}</td></tr>
  {% endfor %}
  <tr class="total"><td colspan="3">{{ "合计 Total" if r.kind == "redemption" else "退回 Refunded" }}</td>
      <td class="n">{{ r.total }}</td></tr>
  <tr><td colspan="3">余额 Balance after</td><td class="n">{{ r.balance_after }}</td></tr>
</table>
<p class="meta">账务流水 Ledger transaction #{{ r.transaction_id }}</p>
<button onclick="window.print()">打印 Print</button>
</body>
</html>
"""


def receipt_html(receipt: dict) -> Response:
    title = "兑换小票 Redemption receipt" if receipt["kind"] == "redemption" else "退货小票 Refund receipt"
    body = render_template_string(RECEIPT_HTML, r=receipt, title=title)
    return Response(body, mimetype="text/html")


def spreadsheet_cell(value):
    # A text cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _csv_response(rows: list[list], filename: str) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so spreadsheet programs read the Chinese names as UTF-8
    csv.writer(buffer).writerows([[spreadsheet_cell(v) for v in row] for row in rows])
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def close_out_csv(sheet: dict) -> Response:
    """One row per line of every basket and refund of the shift, then goods per SKU and the totals."""
    rows = [["type", "number", "time", "resident", "sku", "name", "quantity", "unit_price", "coins"]]
    for doc in sheet["redemptions"]:
        for ln in doc["lines"]:
            rows.append(["redemption", doc["number"], doc["time"].isoformat(), doc["resident"], ln["sku"], ln["name"],
                         ln["quantity"], ln["unit_price"], ln["amount"]])
    for doc in sheet["refunds"]:
        for ln in doc["lines"]:
            rows.append(["refund", doc["number"], doc["time"].isoformat(), doc["resident"], ln["sku"], ln["name"],
                         -ln["quantity"], ln["unit_price"], -ln["amount"]])
    for goods in sheet["goods"]:
        rows.append(["goods_net", "", "", "", goods["sku"], goods["name"], goods["net"], "", goods["coins"]])
    rows.append(["total_redemptions", sheet["redemption_count"], "", "", "", "", "", "", sheet["coins_taken"]])
    rows.append(["total_refunds", sheet["refund_count"], "", "", "", "", "", "", -sheet["coins_refunded"]])
    rows.append(["net", "", sheet["start"].isoformat(), sheet["end"].isoformat(), "", "", "", "", sheet["net_coins"]])
    day = sheet["start"].date().isoformat()
    shift = sheet.get("shift")
    if shift is None:
        return _csv_response(rows, f"close-out-{sheet['supermarket_id']}-{sheet['cashier_id']}-{day}.csv")
    # the shift's from–to, and the slips the cashier declared beside what the books said at closing
    rows.append(["shift", shift["number"], sheet["start"].isoformat(), sheet["end"].isoformat(), "", "", "", "", ""])
    if not shift["open"]:
        for what in ("declared_baskets", "booked_baskets", "declared_refunds", "booked_refunds"):
            rows.append([what, "", "", "", "", "", shift[what], "", ""])
    return _csv_response(rows, f"close-out-{shift['number']}.csv")


DAILY_COLUMNS = ["date", "redemptions", "coins_taken", "refunds", "coins_refunded", "net_coins", "items_out", "items_returned"]


def daily_totals_csv(totals: dict) -> Response:
    rows = [DAILY_COLUMNS]
    rows += [[day["date"].isoformat(), *(day[c] for c in DAILY_COLUMNS[1:])] for day in totals["days"]]
    rows.append(["total", "", totals["coins_taken"], "", totals["coins_refunded"], totals["net_coins"], "", ""])
    name = f"daily-totals-{totals['supermarket_id']}-{totals['first_day']}-{totals['last_day']}.csv"
    return _csv_response(rows, name)
