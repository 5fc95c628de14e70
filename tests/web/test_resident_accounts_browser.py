"""The desk's resident-account flows in Chromium: reset a PIN after an ID check (shown once), report a
card lost (the old card stops working at sign-in), deactivate with the posting shown."""

from __future__ import annotations

import pytest

from ledger import Unit
from tests.factories import PIN
from tests.web.conftest import screenshot
from tests.web.test_browser import sign_in_staff

pytestmark = pytest.mark.browser

NATIONAL_ID = "530302199001011234"


def test_the_desk_resets_a_pin_replaces_a_lost_card_and_deactivates_a_resident(new_page, live_world, live_server):
    world = live_world
    community = world.community()
    station = world.station(community)
    household = world.household(community)
    member = world.member(community, name="吴十", national_id=NATIONAL_ID, household=household)
    world.credit(member, 25)
    world.credit(member, 120, Unit.HOUR)
    desk = new_page()
    sign_in_staff(desk, world.staff("station_staff", station=station))
    desk.goto(f"/office/members/{member.id}")
    desk.get_by_test_id("account-link").click()
    assert "1234" in desk.get_by_test_id("pin-reset").inner_text() and "1990" not in desk.locator("main").inner_text()

    form = desk.get_by_test_id("pin-reset")
    form.locator("#f-identity").select_option("national_id")
    form.locator("#f-national_id").fill("530302199001011242")
    form.locator("button[type=submit]").click()
    assert desk.get_by_test_id("error").is_visible()  # wrong number: nothing changed
    form = desk.get_by_test_id("pin-reset")
    form.locator("#f-identity").select_option("national_id")
    form.locator("#f-national_id").fill(NATIONAL_ID)
    form.locator("button[type=submit]").click()
    new_pin = desk.get_by_test_id("new-pin").locator("strong").inner_text()
    assert new_pin.isdigit() and new_pin != PIN
    screenshot(desk, "desk-pin-reset")

    old_card = member.card_code
    card = desk.get_by_test_id("card-lost")
    card.locator("#f-reason").fill("钱包丢了")
    card.locator("button[type=submit]").click()
    new_card = desk.get_by_test_id("new-card").locator("code").inner_text()
    assert new_card.replace("-", "") != old_card

    resident = new_page()
    for code, works in ((old_card, False), (new_card.lower(), True)):
        resident.goto("/sign-in/resident")
        resident.fill("#identity", code)
        resident.fill("#pin", new_pin)
        resident.locator("main button[type=submit]").click()
        assert ("/me" in resident.url) == works, (code, resident.url)

    leave = desk.get_by_test_id("deactivate")
    leave.locator("#f-reason").fill("迁出本社区")
    leave.locator("button[type=submit]").click()
    departure = desk.get_by_test_id("departure").inner_text()
    assert "25" in departure and "2" in departure
    assert desk.get_by_test_id("inactive").is_visible()
    screenshot(desk, "desk-deactivated")
    assert world.balance(household) == 25 and world.balance(member) == 0
