"""The resident on a 390-px phone with the large-text setting (200 %): the statement in their words,
coins and hours apart with units and running balances, a month filter, the chart's values without
hovering, every tap target at least 44 px, no sideways scrolling."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.service.volunteering.support import at, build_desk, record_body
from tests.web.conftest import PHONE, SCREENSHOTS, Effort, axe_problems, screenshot
from tests.web.pages import give_award
from tests.web.test_browser import sign_in_resident

pytestmark = pytest.mark.browser

LARGE_TEXT = """document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = 'html { font-size: 200% !important; }';
  document.head.appendChild(style);
});"""

SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, select, input:not([type=hidden]), summary')]
  .filter(el => el.offsetParent !== null && !el.closest('.sr-only'))
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, box]) => box.height < 44 || box.width < 44)
  .map(([el, box]) => `${el.tagName} "${el.textContent.trim().slice(0, 20)}" ${Math.round(box.width)}x${Math.round(box.height)}`)"""


def wide(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")


def test_a_resident_reads_the_statement_on_a_phone_at_200_percent_text(new_page, live_world):
    desk = build_desk(live_world)
    member = desk.member
    response = desk.staff1.post("/api/v1/service-records", record_body(desk, at(2, 1), at(2, 3)))
    assert response.status_code == 201, response.json
    assert desk.staff2.post(f"/api/v1/service-records/{response.json['id']}/approve").status_code == 200
    give_award(live_world, desk.community, member, code="PW-BLOOD", admin_id=desk.admin.id, station=desk.station)

    page = new_page(viewport=PHONE)
    page.add_init_script(LARGE_TEXT)
    sign_in_resident(page, member)
    page.wait_for_url("**/me")
    page.wait_for_load_state()
    effort = Effort(page)
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "32px"
    # The chart shows each month's hours without hovering, and the year.
    values = page.get_by_test_id("chart-value").all_inner_texts()
    assert len(values) == 12 and values[-1] == "2"
    year = str(dt.datetime.now(ZoneInfo("Asia/Shanghai")).year)
    assert f"{year}年" in page.get_by_test_id("hours-chart").inner_text()
    assert "小时" in page.get_by_test_id("hours").locator("xpath=..").inner_text()
    screenshot(page, "resident-home-phone-200")
    page.get_by_test_id("hours-chart").screenshot(path=str(SCREENSHOTS / "resident-chart-phone-200.png"))
    assert axe_problems(page) == []
    assert page.evaluate(SMALL_TARGETS) == []
    assert not wide(page)

    effort.tap(page.get_by_role("navigation").get_by_role("link", name="明细"))
    statement = page.get_by_test_id("statement")
    text = statement.inner_text()
    assert "志愿服务" in text and "环境整治" in text and "无偿献血" in text
    # Nothing for auditors only: no English memo, no volunteer numbers, no indicator codes.
    assert not re.search(r"[A-Za-z]{3,}|V0\d{6}|\(PS-", text), text
    served = dt.datetime.fromisoformat(at(2, 1)).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert served.isoformat() in text  # dated by the day of the service
    assert all(a.endswith("绿币") for a in page.get_by_test_id("amount").all_inner_texts())
    balances = page.get_by_test_id("running-balance").all_inner_texts()
    assert balances[0] == f"余额 {live_world.balance(member)} 绿币"
    screenshot(page, "resident-statement-phone-200")
    assert axe_problems(page) == []
    assert page.evaluate(SMALL_TARGETS) == []
    assert not wide(page)

    effort.tap(page.get_by_test_id("tab-hours"))
    expect(page.get_by_test_id("tab-hours")).to_have_attribute("aria-current", "page")
    assert page.get_by_test_id("amount").all_inner_texts() == ["+2 小时"]
    assert page.get_by_test_id("running-balance").all_inner_texts() == ["余额 2 小时"]
    this_month = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    page.select_option("#month", this_month)
    effort.taps += 2  # open the list, pick the month
    page.wait_for_url(re.compile(f"month={this_month}"))
    assert page.get_by_test_id("statement-line").count() == 1
    screenshot(page, "resident-hours-phone-200")
    assert not wide(page)
    # From the home page: one tap to the statement, one to the hours, two to pick a month; no typing.
    assert effort.as_dict() == {"taps": 4, "keys": 0, "scans": 0}
