"""A cashier's shift: opened with nothing to count, closed with the slips counted; its close-out covers
exactly the baskets and refunds made while it was open, on both databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.audit.models import AuditEvent
from tests.service.market.conftest import in_db


def _open(caller, **body):
    return caller.post("/api/v1/shifts", body)


def _close(caller, shift_id, baskets, refunds, **extra):
    return caller.post(f"/api/v1/shifts/{shift_id}/close",
                       {"declared_baskets": baskets, "declared_refunds": refunds, **extra})


def test_the_close_out_covers_exactly_the_shift_not_the_day(shop):
    before = shop.basket(("SOAP", 1))  # made before the shift opened: not the shift's
    assert before.status_code == 201, before.json
    opened = _open(shop.cashier)
    assert opened.status_code == 201, opened.json
    shift = opened.json
    assert shift["open"] and shift["closed_at"] is None and shift["basket_difference"] is None
    assert shop.cashier.get("/api/v1/shifts/current").json["id"] == shift["id"]

    first = shop.basket(("RICE5", 1))
    second = shop.basket(("SOAP", 2), ("OIL1", 1))
    refund = shop.cashier.post(f"/api/v1/redemptions/{first.json['id']}/refund", {"reason": "买错了"})
    assert refund.status_code == 201, refund.json
    other = shop.world.staff("cashier", supermarket=shop.supermarket)  # another cashier's basket is not ours
    assert shop.basket(("SOAP", 1), caller=other).status_code == 201

    live = shop.cashier.get(f"/api/v1/shifts/{shift['id']}/close-out").json
    assert [r["id"] for r in live["redemptions"]] == [first.json["id"], second.json["id"]]
    assert live["shift"]["open"] is True

    closed = _close(shop.cashier, shift["id"], 2, 0, note="一张退货单找不到")
    assert closed.status_code == 200, closed.json
    assert closed.json["booked_baskets"] == 2 and closed.json["booked_refunds"] == 1
    assert closed.json["basket_difference"] == 0 and closed.json["refund_difference"] == -1
    assert closed.json["booked_coins_taken"] == 40 + 35 and closed.json["booked_coins_refunded"] == 40
    after = shop.basket(("SOAP", 1))  # after closing: no shift's
    assert after.status_code == 201

    sheet = shop.cashier.get(f"/api/v1/shifts/{shift['id']}/close-out").json
    assert sheet["redemption_count"] == 2 and sheet["refund_count"] == 1 and sheet["net_coins"] == 35
    # the sheet runs from the shift's opening to its closing, shown in local time
    assert dt.datetime.fromisoformat(sheet["start"]) == dt.datetime.fromisoformat(shift["opened_at"])
    assert dt.datetime.fromisoformat(sheet["end"]) == dt.datetime.fromisoformat(closed.json["closed_at"])
    assert sheet["start"].endswith("+08:00")
    assert sheet["shift"]["closed_at"] == closed.json["closed_at"]
    assert {r["id"] for r in sheet["redemptions"]}.isdisjoint({before.json["id"], after.json["id"]})
    # the day's close-out still has every basket of this cashier today
    assert shop.cashier.get(f"/api/v1/supermarkets/{shop.supermarket.id}/close-out").json["redemption_count"] == 4

    csv = shop.cashier.get(f"/api/v1/shifts/{shift['id']}/close-out.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert f"shift,{shift['number']}," in text and "declared_refunds,,,,,,0" in text and "booked_refunds,,,,,,1" in text
    assert shop.market_sound() == []


def test_one_open_shift_at_a_time_and_closing_twice_is_a_double_tap(shop):
    shift = _open(shop.cashier).json
    again = _open(shop.cashier)
    assert again.status_code == 409 and again.json["error"]["code"] == "shift_already_open"
    assert again.json["error"]["details"]["shift_id"] == shift["id"]
    assert _close(shop.cashier, shift["id"], 0, 0).status_code == 200
    assert _close(shop.cashier, shift["id"], 0, 0).json["closed_at"]  # the same counts: the same answer
    changed = _close(shop.cashier, shift["id"], 3, 0)
    assert changed.status_code == 409 and changed.json["error"]["code"] == "shift_closed"
    assert shop.cashier.get("/api/v1/shifts/current").json["error"]["code"] == "no_open_shift"
    assert _open(shop.cashier).status_code == 201  # the next shift
    assert len(shop.cashier.get("/api/v1/shifts").json) == 2


def test_bad_counts_and_strangers_get_a_4xx(shop, world):
    shift = _open(shop.cashier).json
    for body in ({"declared_baskets": -1, "declared_refunds": 0}, {"declared_baskets": "2", "declared_refunds": 0},
                 {"declared_refunds": 0}, {"declared_baskets": 10**9, "declared_refunds": 0}):
        response = shop.cashier.post(f"/api/v1/shifts/{shift['id']}/close", body)
        assert response.status_code == 422, (body, response.json)
    other = world.staff("cashier", supermarket=shop.supermarket)
    assert other.get(f"/api/v1/shifts/{shift['id']}").status_code == 404
    assert _close(other, shift["id"], 0, 0).status_code == 404
    assert _close(shop.cashier, 999999, 0, 0).status_code == 404
    elsewhere = world.staff("cashier", supermarket=world.supermarket(world.community()))
    assert elsewhere.get(f"/api/v1/shifts/{shift['id']}/close-out").status_code == 404
    resident = world.resident(shop.member)
    assert resident.post("/api/v1/shifts", {}).status_code == 403
    assert shop.cashier.get(f"/api/v1/shifts/{shift['id']}").json["open"] is True


def test_an_administrator_closes_a_forgotten_shift_and_it_is_audit_logged(app, shop):
    shift = _open(shop.cashier).json
    shop.basket(("SOAP", 1))
    closed = _close(shop.admin, shift["id"], 1, 0)
    assert closed.status_code == 200 and closed.json["basket_difference"] == 0
    assert shop.admin.get(f"/api/v1/shifts?cashier_id={shop.cashier.id}").json[0]["id"] == shift["id"]
    actions = in_db(shop.world, lambda s: s.scalars(select(AuditEvent.action)).all())
    assert "shift.close" in actions
