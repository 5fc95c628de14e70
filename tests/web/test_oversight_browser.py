"""The supervisor's flow in a real browser at a desk PC: open the supervision list, page back, flag a
record, and see the flag on it."""

from __future__ import annotations

import pytest

from tests.service.volunteering.support import at, build_desk, record_body
from tests.web.conftest import DESK_PC, axe_problems, screenshot
from tests.web.test_browser import sign_in_staff

pytestmark = pytest.mark.browser


def test_a_supervisor_pages_through_the_records_and_flags_one(new_page, live_world):
    desk = build_desk(live_world)
    ids = []
    for i in range(27):
        made = desk.staff1.post("/api/v1/service-records",
                                record_body(desk, at(3 + i, 1), at(3 + i, 2), evidence=f"签到表第{i + 1}页"))
        assert made.status_code == 201, made.json
        ids.append(made.json["id"])
    assert desk.staff2.post(f"/api/v1/service-records/{ids[0]}/approve").status_code == 200

    page = new_page(viewport=DESK_PC)
    sign_in_staff(page, desk.supervisor)
    page.get_by_role("link", name="村务监督").first.click()
    assert page.locator("h1").inner_text() == "村务监督"
    rows = page.get_by_test_id("oversight-rows").locator("tbody tr")
    assert rows.count() == 25
    assert page.locator(f"tr[data-row='{ids[-1]}']").is_visible()  # newest first

    page.get_by_test_id("older").click()
    assert rows.count() == 2
    oldest = page.locator(f"tr[data-row='{ids[0]}']")
    assert "签到表第1页" in oldest.inner_text() and f"员工{desk.staff2.username}" in oldest.inner_text()

    oldest.locator("summary").click()
    oldest.get_by_label("异议理由").fill("当天下雨，活动未开展")
    oldest.get_by_role("button", name="提出异议").click()
    assert "已提出异议" in page.locator("main").inner_text()
    flags = page.locator(f"tr[data-row='{ids[0]}']").get_by_test_id("row-flags")
    assert "待处理" in flags.inner_text() and "当天下雨，活动未开展" in flags.inner_text()
    assert flags.locator("summary").count() == 0  # one open flag at a time
    assert rows.count() == 2  # still on the page it was flagged from
    assert axe_problems(page) == []
    screenshot(page, "office-oversight")
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "Supervision"
    assert "open" in page.locator(f"tr[data-row='{ids[0]}']").get_by_test_id("row-flags").inner_text()
    screenshot(page, "office-oversight-en")
