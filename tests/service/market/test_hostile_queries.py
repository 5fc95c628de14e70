"""Query strings with out-of-range numbers, dates and times get a clear 422, never a 500."""

from __future__ import annotations

import pytest

HUGE = "9" * 25


@pytest.mark.parametrize("path", ["/api/v1/redemptions", "/api/v1/stock-receipts"])
def test_a_huge_page_cursor_is_refused(shop, path):
    response = shop.admin.get(path, query_string={"before": HUGE})
    assert response.status_code == 422, response.json
    assert "before" in response.json["error"]["details"]["fields"]


@pytest.mark.parametrize(
    "days",
    [{"last_day": "9999-12-31"}, {"first_day": "0001-01-01", "last_day": "0001-01-02"}, {"first_day": "1999-12-31"}],
)
def test_daily_totals_at_the_ends_of_the_calendar_are_refused(shop, days):
    for suffix in ("", ".csv"):
        response = shop.admin.get(f"/api/v1/supermarkets/{shop.supermarket.id}/daily-totals{suffix}", query_string=days)
        assert response.status_code == 422, response.get_data(as_text=True)
        refused = set(response.json["error"]["details"]["fields"])
        assert refused and refused <= set(days), refused


@pytest.mark.parametrize(
    "first_day, last_day",
    [("2000-01-01", "2001-01-01"), ("2999-12-31", "2999-12-31"), ("2999-06-01", "2999-06-01")],
)
def test_daily_totals_from_any_first_day_alone_is_a_period(shop, first_day, last_day):
    """The document's calendar (a date of years 2000 to 2999) is all a client needs to know for one
    parameter: the default last day stays within 366 days of it and not before it."""
    url = f"/api/v1/supermarkets/{shop.supermarket.id}/daily-totals"
    body = shop.admin.get(url, query_string={"first_day": first_day})
    assert body.status_code == 200, body.json
    assert (body.json["first_day"], body.json["last_day"]) == (first_day, last_day)
    sheet = shop.admin.get(url + ".csv", query_string={"first_day": first_day})
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"


@pytest.mark.parametrize(
    "period",
    [
        {"start": "0001-01-01T00:00:00", "end": "0001-01-02T00:00:00"},
        {"start": "9999-12-31T00:00:00+00:00", "end": "9999-12-31T23:59:59+00:00"},
    ],
)
def test_close_out_at_the_ends_of_the_calendar_is_refused(shop, period):
    for suffix in ("", ".csv"):
        response = shop.admin.get(
            f"/api/v1/supermarkets/{shop.supermarket.id}/close-out{suffix}",
            query_string={"cashier_id": shop.cashier.id, **period},
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.json["error"]["code"] == "invalid_period"


def test_text_with_a_nul_character_is_refused_and_nothing_is_written(shop):
    basket = shop.basket(("SOAP", 1)).json
    before = shop.snapshot()
    sid = shop.supermarket.id
    writes = [
        (shop.admin, "/api/v1/products", {"supermarket_id": sid, "sku": "NUL1", "name": "a\x00b", "price": 3}),
        (shop.admin, "/api/v1/stock-receipts",
         {"supermarket_id": sid, "kind": "donation", "source": "x\x00", "lines": [{"sku": "SOAP", "quantity": 1}]}),
        (shop.cashier, "/api/v1/redemptions",
         {"supermarket_id": sid, "member_id": shop.member.id, "note": "\x00", "lines": [{"sku": "SOAP", "quantity": 1}]}),
        (shop.cashier, f"/api/v1/redemptions/{basket['id']}/refund", {"reason": "坏\x00了"}),
    ]
    for caller, path, body in writes:
        response = caller.post(path, body)
        assert response.status_code == 422, (path, response.get_data(as_text=True))
    response = shop.admin.patch(f"/api/v1/products/{shop.products['SOAP']}", {"name": "\x00"})
    assert response.status_code == 422, response.get_data(as_text=True)
    response = shop.cashier.post(f"/api/v1/supermarkets/{sid}/lookup", {"phone": "1\x00"})
    assert response.status_code in (404, 422), response.get_data(as_text=True)
    assert shop.snapshot() == before
