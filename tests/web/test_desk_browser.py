"""The station desk on a desk PC: a clerk logs an activity roster of 20 volunteers (times typed once,
cards scanned one after another), uploads a sign-in sheet saved by Chinese Excel (GBK, Excel's dates)
and an XLSX; a second staff member approves the ticked records at once (four-eyes per record)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.web.conftest import DESK_PC, Effort, axe_problems, screenshot
from tests.web.test_browser import sign_in_staff

pytestmark = pytest.mark.browser


def yesterday() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() - dt.timedelta(days=1)


def gbk_sheet(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["志愿者编号", "活动", "开始", "结束"])
    writer.writerows(rows)
    return out.getvalue().encode("gbk")


def xlsx_sheet(rows) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["志愿者编号", "活动", "开始", "结束"])
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_clerk_logs_a_roster_of_20_and_uploads_gbk_and_xlsx_sheets(new_page, live_world):
    community = live_world.community()
    station = live_world.station(community)
    clerk = live_world.staff("station_staff", station=station)
    approver = live_world.staff("station_staff", station=station)
    people = [live_world.member(community, name=f"志愿者{n:02d}") for n in range(22)]
    day = yesterday()

    page = new_page(viewport=DESK_PC)
    sign_in_staff(page, clerk)
    effort = Effort(page)
    effort.tap(page.get_by_role("navigation").get_by_role("link", name="活动签到"))
    assert page.locator("#f-service_date").input_value() == dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    page.select_option("#f-activity_id", value="")
    effort.taps += 2
    effort.fill(page.locator("#f-activity"), "社区清扫")
    effort.fill(page.locator("#f-service_date"), day.isoformat())
    effort.fill(page.locator("#f-start_time"), "08:00")
    effort.fill(page.locator("#f-end_time"), "10:00")
    effort.tap(page.get_by_test_id("add-volunteer"))
    for member in people[:20]:
        effort.scan(member.card_code)
        expect(page.get_by_test_id("roster-row").last).to_contain_text(member.name)
    expect(page.get_by_test_id("roster-count")).to_have_text("20")
    assert people[0].card_code not in page.get_by_test_id("roster-rows").inner_html()  # names, not card codes
    # A name works too when it is one person; an unknown code says so and adds nothing.
    page.keyboard.type("志愿者21")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("roster-row").last).to_contain_text("志愿者21")
    page.get_by_role("button", name="删除 志愿者21").click()
    page.keyboard.type("nobody-here-000", delay=2)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("roster-message")).not_to_be_empty()
    expect(page.get_by_test_id("roster-count")).to_have_text("20")
    # One volunteer came late: their own start time.
    page.get_by_label("开始 20").fill("09:00")
    effort.taps += 1
    effort.keys += 5
    screenshot(page, "desk-roster")
    assert axe_problems(page) == []
    effort.tap(page.get_by_test_id("save-roster"))
    results = page.get_by_test_id("roster-row-result")
    expect(results).to_have_count(20)
    assert "志愿者00" in results.first.inner_text() and "已登记" in results.first.inner_text()
    roster_effort = effort.as_dict()
    screenshot(page, "desk-roster-saved")
    # Saved again (a double click, a resent form): nothing twice, each row says it is already there.
    page.get_by_test_id("add-volunteer").click()
    page.keyboard.type(people[0].card_code)
    page.keyboard.press("Enter")
    page.get_by_test_id("save-roster").click()
    assert "已登记过" in page.get_by_test_id("roster-row-result").first.inner_text()

    page.get_by_role("navigation").get_by_role("link", name="登记时长").click()
    excel_day = f"{day.year}/{day.month}/{day.day}"
    page.set_input_files("#f-sheet", files=[{"name": "签到表.csv", "mimeType": "text/csv", "buffer": gbk_sheet([
        [people[20].volunteer_number, "社区清扫", f"{excel_day} 14:00", f"{excel_day} 16:00"],
        [people[21].volunteer_number, "社区清扫", "明天早上", f"{excel_day} 16:00"],
    ])}])
    page.get_by_role("button", name="上传").click()
    rows = page.get_by_test_id("batch-row")
    expect(rows).to_have_count(2)
    assert "志愿者20" in rows.nth(0).inner_text() and "已登记" in rows.nth(0).inner_text()
    assert "第 3 行" in rows.nth(1).inner_text() and "开始" in rows.nth(1).inner_text()
    screenshot(page, "desk-sheet-gbk")

    page.set_input_files("#f-sheet", files=[{"name": "签到表.xlsx", "mimeType": "application/octet-stream",
                                             "buffer": xlsx_sheet([[people[21].volunteer_number, "社区清扫",
                                                                    dt.datetime.combine(day, dt.time(14)),
                                                                    dt.datetime.combine(day, dt.time(16))]])}])
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_test_id("batch-row")).to_have_count(1)
    assert "志愿者21" in page.get_by_test_id("batch-row").inner_text()

    second = new_page(viewport=DESK_PC)
    sign_in_staff(second, approver)
    second.get_by_role("navigation").get_by_role("link", name="待审核记录").click()
    expect(second.get_by_test_id("pending-record")).to_have_count(22)
    approving = Effort(second)
    approving.tap(second.get_by_test_id("tick-all"))
    expect(second.get_by_test_id("tick").last).to_be_checked()
    approving.tap(second.get_by_test_id("approve-selected"))
    assert "22" in second.locator(".alert.ok").first.inner_text()
    assert live_world.balance(people[0]) == 20 and live_world.balance(people[19]) == 10
    assert live_world.invariants() == {}
    # The roster of 20: open it, the activity, the date and two times once, then one scan per person,
    # one changed time, one save.
    assert roster_effort == {"taps": 10, "keys": 29, "scans": 20}, roster_effort
    # Approving all 22 pending records: tick all, approve (each record still checked on its own).
    assert approving.as_dict() == {"taps": 2, "keys": 0, "scans": 0}
