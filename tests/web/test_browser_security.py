"""In Chromium: the pages work under the Content-Security-Policy (no inline script is needed)."""

from __future__ import annotations

import pytest

from tests.web.conftest import screenshot
from tests.web.test_browser import sign_in_staff

pytestmark = pytest.mark.browser


def test_the_community_switch_works_under_the_csp_and_nothing_is_blocked(new_page, live_world):
    first = live_world.community(name="东湖社区")
    second = live_world.community(name="西山社区")
    city_admin = live_world.admin()
    page = new_page()
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    sign_in_staff(page, city_admin)
    page.goto("/office")
    assert page.locator("#community-switch").count() == 1
    page.select_option("#community-switch", value=str(second.id))
    page.wait_for_url(f"**/office?community={second.id}")
    assert page.locator("#community-switch").input_value() == str(second.id)
    assert first.id != second.id
    assert violations == []


def test_an_administrator_resets_a_password_and_deactivates_an_account_and_it_takes_effect_at_once(
    new_page, live_world
):
    community = live_world.community(name="南岭社区")
    admin = live_world.admin(community)
    station_staff = live_world.staff("station_staff", station=live_world.station(community))
    office, desk = new_page(viewport={"width": 1280, "height": 900}), new_page()
    sign_in_staff(office, admin)
    sign_in_staff(desk, station_staff)
    assert "/desk" in desk.url

    office.goto("/office/staff")
    office.get_by_test_id(f"staff-{station_staff.username}").get_by_test_id("reset-password").click()
    one_time = office.get_by_test_id("one-time-password").inner_text().strip()
    screenshot(office, "office-one-time-password")

    desk.reload()  # the reset ended the old session
    assert "/sign-in" in desk.url
    desk.goto("/sign-in/staff")
    desk.fill("#username", station_staff.username)
    desk.fill("#password", one_time)
    desk.locator("main button[type=submit]").click()
    assert desk.get_by_test_id("must-change").is_visible()
    desk.fill("#current_password", one_time)
    desk.fill("#new_password", "fresh-password-7")
    desk.fill("#repeat_password", "fresh-password-7")
    desk.locator("main button[type=submit]").click()
    desk.wait_for_url("**/desk")

    office.goto("/office/staff")
    office.get_by_test_id(f"staff-{station_staff.username}").get_by_test_id("deactivate").click()
    assert "已停用" in office.get_by_test_id(f"staff-{station_staff.username}").inner_text()
    screenshot(office, "office-staff-deactivated")
    desk.reload()
    assert "/sign-in" in desk.url
