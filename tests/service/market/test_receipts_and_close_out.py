"""Receipts (JSON and printable), the cashier's shift close-out and the supermarket's daily totals."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_redemption_receipt_has_number_local_time_masked_name_lines_total_and_balance(shop):
    basket = shop.basket(("RICE5", 1), ("SOAP", 2)).json
    receipt = shop.cashier.get(f"/api/v1/redemptions/{basket['id']}/receipt").json
    assert receipt["number"] == basket["number"] and receipt["kind"] == "redemption"
    assert receipt["time"].endswith("+08:00")
    assert receipt["resident"] == "张*丰" and receipt["total"] == 50 and receipt["balance_after"] == 50
    assert [(ln["name"], ln["quantity"], ln["amount"]) for ln in receipt["lines"]] == [("大米5斤", 1, 40), ("肥皂", 2, 10)]
    html = shop.cashier.get(f"/api/v1/redemptions/{basket['id']}/receipt.html")
    assert html.status_code == 200 and html.mimetype == "text/html"
    text = html.get_data(as_text=True)
    assert basket["number"] in text and "张*丰" in text and "大米5斤" in text and "张三丰" not in text
    assert shop.member.card_code not in text and "13800000001" not in text


def test_refund_receipt_names_the_original_and_the_reason(shop):
    basket = shop.basket(("SOAP", 2)).json
    refund = shop.cashier.post(f"/api/v1/redemptions/{basket['id']}/refund", {"reason": "<b>破损</b>"}).json
    receipt = shop.cashier.get(f"/api/v1/refunds/{refund['id']}/receipt").json
    assert receipt["kind"] == "refund" and receipt["redemption_number"] == basket["number"]
    assert receipt["total"] == 10 and receipt["balance_after"] == 100 and receipt["reason"] == "<b>破损</b>"
    html = shop.cashier.get(f"/api/v1/refunds/{refund['id']}/receipt.html").get_data(as_text=True)
    assert "&lt;b&gt;破损&lt;/b&gt;" in html and "<b>破损</b>" not in html  # escaped
    assert world_resident_cannot_see_others_receipts(shop)


def world_resident_cannot_see_others_receipts(shop) -> bool:
    neighbour = shop.world.member(shop.community, name="邻居")
    shop.world.credit(neighbour, 20)
    theirs = shop.basket(("SOAP", 1), member=neighbour).json
    me = shop.world.resident(shop.member)
    return (
        me.get(f"/api/v1/redemptions/{theirs['id']}/receipt").status_code == 404
        and me.get(f"/api/v1/redemptions/{theirs['id']}/receipt.html").status_code == 404
    )


def test_shift_close_out_counts_baskets_refunds_coins_and_goods_per_sku(shop, world):
    first = shop.basket(("RICE5", 1), ("SOAP", 4)).json
    assert shop.basket(("SOAP", 2)).status_code == 201
    soap_line = next(ln for ln in first["lines"] if ln["sku"] == "SOAP")
    shop.cashier.post(f"/api/v1/redemptions/{first['id']}/refund",
                      {"reason": "退一块", "lines": [{"line_id": soap_line["id"], "quantity": 1}]})
    shop.basket(("SOAP", 1), caller=shop.admin)  # not the cashier's shift
    sheet = shop.cashier.get(f"/api/v1/supermarkets/{shop.supermarket.id}/close-out")
    assert sheet.status_code == 200, sheet.json
    body = sheet.json
    assert body["cashier_id"] == shop.cashier.id
    assert (body["redemption_count"], body["refund_count"]) == (2, 1)
    assert (body["coins_taken"], body["coins_refunded"], body["net_coins"]) == (70, 5, 65)
    goods = {g["sku"]: (g["out"], g["returned"], g["net"], g["coins"]) for g in body["goods"]}
    assert goods == {"RICE5": (1, 0, 1, 40), "SOAP": (6, 1, 5, 25)}
    assert body["redemptions"][0]["resident"] == "张*丰"

    response = shop.cashier.get(f"/api/v1/supermarkets/{shop.supermarket.id}/close-out.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "type"
    assert sum(int(r[8]) for r in rows if r[0] in ("redemption", "refund")) == 65
    assert rows[-1][0] == "net" and rows[-1][-1] == "65"

    admin_view = shop.admin.get(f"/api/v1/supermarkets/{shop.supermarket.id}/close-out?cashier_id={shop.admin.id}").json
    assert admin_view["redemption_count"] == 1 and admin_view["coins_taken"] == 5


def test_close_out_periods_and_scope(shop, world):
    shop.basket(("SOAP", 1))
    base = f"/api/v1/supermarkets/{shop.supermarket.id}/close-out"
    yesterday = (dt.datetime.now(SHANGHAI) - dt.timedelta(days=1)).replace(microsecond=0)
    earlier = shop.cashier.get(base, query_string={"start": (yesterday - dt.timedelta(days=1)).isoformat(),
                                                  "end": yesterday.isoformat()})
    assert earlier.status_code == 200 and earlier.json["redemption_count"] == 0
    naive_local = shop.cashier.get(base, query_string={"start": yesterday.replace(tzinfo=None).isoformat()})
    assert naive_local.json["redemption_count"] == 1
    backwards = shop.cashier.get(base, query_string={"start": yesterday.isoformat(),
                                                    "end": (yesterday - dt.timedelta(hours=1)).isoformat()})
    assert backwards.status_code == 422
    too_long = shop.admin.get(base, query_string={"cashier_id": shop.cashier.id,
                                                  "start": (yesterday - dt.timedelta(days=400)).isoformat()})
    assert too_long.status_code == 422
    other_cashier = world.staff("cashier", supermarket=shop.supermarket)
    assert other_cashier.get(base, query_string={"cashier_id": shop.cashier.id}).status_code == 403
    assert shop.admin.get(base).status_code == 422  # an administrator names the cashier
    supervisor = world.staff("supervisor", community=shop.community)
    assert supervisor.get(base, query_string={"cashier_id": shop.cashier.id}).json["redemption_count"] == 1
    assert world.resident(shop.member).get(base).status_code == 403
    assert world.staff("cashier", supermarket=world.supermarket(shop.community)).get(base).status_code == 404


def test_daily_totals_per_local_day_as_json_and_csv(shop, world):
    first = shop.basket(("RICE5", 1)).json
    shop.basket(("SOAP", 3))
    shop.cashier.post(f"/api/v1/redemptions/{first['id']}/refund", {"reason": "整单退"})
    url = f"/api/v1/supermarkets/{shop.supermarket.id}/daily-totals"
    body = shop.admin.get(url).json
    today = dt.datetime.now(SHANGHAI).date().isoformat()
    assert [d["date"] for d in body["days"]] == [today]
    day = body["days"][0]
    assert (day["redemptions"], day["coins_taken"], day["refunds"], day["coins_refunded"]) == (2, 55, 1, 40)
    assert (day["items_out"], day["items_returned"], day["net_coins"]) == (4, 1, 15)
    assert body["net_coins"] == 15
    response = shop.cashier.get(url + ".csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "date" and rows[1][0] == today and rows[-1][0] == "total" and rows[-1][5] == "15"
    assert shop.admin.get(url, query_string={"first_day": "2026-02-01", "last_day": "2026-01-01"}).status_code == 422
    assert world.resident(shop.member).get(url).status_code == 403


def test_csv_cells_cannot_smuggle_spreadsheet_formulas(shop):
    shop.add_product("EVIL", 1, 5, name="=HYPERLINK(\"x\")")
    shop.basket(("EVIL", 1))
    text = shop.cashier.get(f"/api/v1/supermarkets/{shop.supermarket.id}/close-out.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text
