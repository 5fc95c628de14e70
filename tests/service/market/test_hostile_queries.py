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
    [{"last_day": "9999-12-31"}, {"first_day": "0001-01-01", "last_day": "0001-01-02"}],
)
def test_daily_totals_at_the_ends_of_the_calendar_are_refused(shop, days):
    for suffix in ("", ".csv"):
        response = shop.admin.get(f"/api/v1/supermarkets/{shop.supermarket.id}/daily-totals{suffix}", query_string=days)
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.json["error"]["code"] == "invalid_period"


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
