"""Give hours on a 390-px phone with the large-text setting: a resident picks a member of their
household (no relation to type) and gives hours in a few taps; the history shows it in hours."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ledger import Unit
from tests.web.conftest import PHONE, Effort, axe_problems, screenshot
from tests.web.test_browser import sign_in_resident
from tests.web.test_resident_phone_browser import LARGE_TEXT, SMALL_TARGETS, wide

pytestmark = pytest.mark.browser


def test_a_resident_gives_hours_to_a_household_member_on_a_phone(new_page, live_world):
    community = live_world.community()
    home = live_world.household(community, name="李家")
    giver = live_world.member(community, name="李大爷", household=home)
    daughter = live_world.member(community, name="李小红", household=home)
    live_world.member(community, name="李四", household=home)
    live_world.credit(giver, 300, Unit.HOUR)

    page = new_page(viewport=PHONE)
    page.add_init_script(LARGE_TEXT)
    sign_in_resident(page, giver)
    page.wait_for_url("**/me")
    effort = Effort(page)
    effort.tap(page.get_by_role("navigation").get_by_role("link", name="转赠时长"))
    choices = page.get_by_test_id("household-member")
    expect(choices).to_have_count(2)
    screenshot(page, "give-hours-phone-200")
    assert axe_problems(page) == []
    assert page.evaluate(SMALL_TARGETS) == []
    assert not wide(page)
    # A mistake first: nothing chosen, no minutes. Both problems at once, in Chinese.
    page.get_by_test_id("give").click()
    expect(page.get_by_test_id("field-error-to")).to_contain_text("请选择")
    expect(page.get_by_test_id("field-error-minutes")).to_be_visible()
    screenshot(page, "give-hours-errors-phone-200")

    effort.tap(choices.filter(has_text="李小红"))
    effort.fill(page.locator("#f-minutes"), "90")
    effort.tap(page.get_by_test_id("give"))
    expect(page.locator(".alert.ok")).to_contain_text("李小红")
    history = page.get_by_test_id("transfers")
    expect(history).to_contain_text("转给 李小红")
    expect(history).to_contain_text("同户家人")
    expect(history).to_contain_text("-1.5 小时")
    expect(page.get_by_test_id("hours")).to_have_text("3.5 小时")
    screenshot(page, "give-hours-given-phone-200")
    assert page.evaluate(SMALL_TARGETS) == []
    assert not wide(page)
    assert live_world.balance(daughter, Unit.HOUR) == 90
    # Menu, pick the person, type the minutes, give: no volunteer number, no relation to choose.
    assert effort.as_dict() == {"taps": 4, "keys": 2, "scans": 0}
