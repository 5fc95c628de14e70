"""Registration at the desk PC in Chromium: every mistake of the form shown at once, then straight to
the member card, which prints at its real size with nothing else on the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import DESK_PC, SCREENSHOTS, Effort, axe_problems, screenshot
from tests.web.test_browser import sign_in_staff

pytestmark = pytest.mark.browser


def test_a_clerk_registers_a_resident_and_prints_the_card(new_page, live_world):
    community = live_world.community()
    clerk = live_world.staff("station_staff", station=live_world.station(community))
    page = new_page(viewport=DESK_PC)
    sign_in_staff(page, clerk)
    effort = Effort(page)
    effort.tap(page.get_by_role("navigation").get_by_role("link", name="居民"))
    effort.fill(page.locator("#f-name"), "周桂兰")
    effort.fill(page.locator("#f-phone"), "1390000111")  # one digit short
    effort.fill(page.locator("#f-birth_date"), "2999-01-01")
    effort.tap(page.get_by_test_id("register"))
    summary = page.get_by_test_id("error-summary")
    expect(summary.locator("li")).to_have_count(2)  # both mistakes in one answer
    expect(page.get_by_test_id("field-error-phone")).to_contain_text("11 位")
    expect(page.get_by_test_id("field-error-birth_date")).to_be_visible()
    expect(page.locator("#f-name")).to_have_value("周桂兰")  # the rest is kept
    screenshot(page, "desk-registration-errors")
    assert axe_problems(page) == []
    effort.fill(page.locator("#f-phone"), "13900001111")
    effort.fill(page.locator("#f-birth_date"), "1956-03-08")
    effort.tap(page.get_by_test_id("register"))

    card = page.get_by_test_id("member-card")
    expect(card).to_be_visible()
    expect(page.get_by_test_id("card-name")).to_have_text("周桂兰")
    expect(page.get_by_test_id("card-community")).to_contain_text(community.name)
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", page.get_by_test_id("card-code").inner_text())
    assert re.fullmatch(r"\d{6}", page.get_by_test_id("new-pin").locator("strong").inner_text())
    assert "/card" not in page.url and page.get_by_test_id("card-code").inner_text() not in page.url
    qr = page.get_by_test_id("qr").locator("svg").bounding_box()
    assert qr["width"] > 120 and abs(qr["width"] - qr["height"]) < 1
    screenshot(page, "desk-registration-card")
    assert axe_problems(page) == []

    # On paper: only the card, at ID-1 size (85.6 mm = 323.5 CSS px), without the PIN.
    page.emulate_media(media="print")
    box = card.bounding_box()
    assert abs(box["width"] - 323.5) < 2 and abs(box["height"] - 204.1) < 2, box
    for hidden in ("header.top", "nav.menu", "[data-testid=new-pin]", "[data-testid=print-card]"):
        assert not page.locator(hidden).is_visible(), hidden
    page.pdf(path=str(SCREENSHOTS / "member-card.pdf"), format="A4")
    screenshot(page, "desk-registration-card-print")
    page.emulate_media(media="screen")
    effort.taps += 1  # "print the card" (window.print opens the printer dialog, which a test cannot press)
    # Residents page, name, phone, birth date, register (and fix two fields, register again), print.
    assert effort.as_dict()["taps"] == 9
