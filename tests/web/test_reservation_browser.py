"""Reserve on the phone, pick up at the counter tablet: the main flow in Chromium."""

from __future__ import annotations

import pytest

from tests.web.conftest import screenshot
from tests.web.pages import stocked_shop
from tests.web.test_browser import sign_in_resident, sign_in_staff

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 800, "height": 1280}


def test_resident_reserves_on_the_phone_and_the_cashier_hands_it_over(new_page, live_world):
    community = live_world.community()
    shop, products = stocked_shop(live_world, community, [("RICE", "大米", 30, 5), ("OIL", "食用油", 20, 2)])
    member = live_world.member(community, name="周大爷")
    live_world.credit(member, 100)

    phone = new_page(PHONE)
    sign_in_resident(phone, member)
    phone.goto("/me/reservations")
    phone.fill(f"#qty-{products[0].id}", "2")
    phone.get_by_test_id("reserve").first.click()
    code = phone.get_by_test_id("reservation-code").inner_text().strip()
    assert phone.get_by_test_id("held").inner_text() == "60"
    screenshot(phone, "resident-reservation-phone")

    counter = new_page(TABLET)
    sign_in_staff(counter, live_world.staff("cashier", supermarket=shop))
    counter.goto("/counter/pickup")
    counter.fill("#f-code", code.lower())
    counter.get_by_test_id("find-reservation").click()
    assert "大米 × 2" in counter.get_by_test_id("reservation").inner_text()
    screenshot(counter, "counter-pickup-tablet")
    counter.get_by_test_id("hand-over").click()
    assert "/counter/receipts/" in counter.url
    assert live_world.balance(member) == 40

    phone.goto("/me/reservations")
    assert phone.get_by_test_id("held").inner_text() == "0"
    assert phone.get_by_test_id("reservation-picked_up").count() == 1
