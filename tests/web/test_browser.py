"""The main flows in a real browser (Debian's Chromium through Playwright), clicking as people do."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, PIN
from tests.web.conftest import screenshot
from tests.web.pages import give_award

pytestmark = pytest.mark.browser


def sign_in_resident(page, member):
    page.goto("/")
    page.get_by_test_id("choose-resident").click()
    page.fill("#identity", member.card_code)
    page.fill("#pin", PIN)
    page.locator("main button[type=submit]").click()


def sign_in_staff(page, caller):
    page.goto("/")
    page.get_by_test_id("choose-staff").click()
    page.fill("#username", caller.username)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()


def test_resident_switches_to_english_and_it_sticks(new_page, live_world):
    member = live_world.member(live_world.community(), name="赵小梅")
    live_world.credit(member, 42)
    page = new_page()
    sign_in_resident(page, member)
    assert page.get_by_test_id("coins").inner_text() == "42"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "绿币" in page.locator("main").inner_text()
    screenshot(page, "resident-zh")
    page.get_by_test_id("language-switch").get_by_text("English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Green coins" in page.locator("main").inner_text()
    page.get_by_role("link", name="Member card").first.click()
    assert page.locator("h1").inner_text() == "Member card"
    assert page.get_by_test_id("qr").locator("svg").count() == 1
    screenshot(page, "resident-card-en")


def yesterday() -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() - dt.timedelta(days=1)).isoformat()


def test_station_logs_hours_a_second_staff_member_approves_them_and_the_volunteer_prints_a_certificate(
    new_page, live_world
):
    community = live_world.community()
    station = live_world.station(community)
    logger = live_world.staff("station_staff", station=station)
    approver = live_world.staff("station_staff", station=station)
    member = live_world.member(community, name="孙志强")

    desk = new_page()
    sign_in_staff(desk, logger)
    desk.get_by_role("navigation").get_by_role("link", name="登记时长").click()
    desk.fill("#f-volunteer", member.volunteer_number)
    desk.select_option("#f-activity_id", value="")
    desk.fill("#f-activity", "环境整治")
    desk.fill("#f-service_date", yesterday())
    desk.fill("#f-start_time", "08:00")
    desk.fill("#f-end_time", "10:00")
    desk.get_by_role("button", name="登记", exact=True).click()
    assert "等待审核" in desk.locator(".alert.ok").inner_text()
    screenshot(desk, "desk-logged")
    # The one who logged it may not approve it (four-eyes): the refusal is in plain Chinese.
    desk.get_by_role("navigation").get_by_role("link", name="待审核记录").click()
    desk.get_by_test_id("approve").click()
    assert "另一位工作人员" in desk.locator(".alert.error").inner_text()

    second = new_page()
    sign_in_staff(second, approver)
    second.get_by_role("navigation").get_by_role("link", name="待审核记录").click()
    assert second.get_by_test_id("pending-record").count() == 1
    second.get_by_test_id("approve").click()
    assert "已入账" in second.locator(".alert.ok").inner_text()
    assert second.get_by_test_id("no-pending").is_visible()
    screenshot(second, "desk-approved")
    assert live_world.balance(member) == 20

    # The volunteer issues a certificate (平台记录); anyone can open it by its address, signed out.
    resident = new_page()
    sign_in_resident(resident, member)
    resident.get_by_role("navigation").get_by_role("link", name="服务证明").click()
    resident.get_by_test_id("issue-certificate").click()
    assert resident.get_by_test_id("certificate-hours").inner_text() == "2"
    address = resident.url
    anyone = new_page()
    anyone.goto(address)
    assert anyone.get_by_test_id("certificate-name").inner_text() == "孙*强"
    assert anyone.get_by_test_id("certificate-intact").is_visible()
    screenshot(anyone, "certificate")


def test_administrator_downloads_the_monthly_disclosure(new_page, live_world, tmp_path):
    import openpyxl

    community = live_world.community()
    station = live_world.station(community)
    member = live_world.member(community, name="钱多多")
    admin = live_world.admin(community)

    give_award(live_world, community, member, code="PW-BLOOD", admin_id=admin.id, station=station)
    page = new_page(viewport={"width": 1024, "height": 900})
    sign_in_staff(page, admin)
    page.get_by_role("navigation").get_by_role("link", name="积分公示").click()
    sheet = page.get_by_test_id("disclosure")
    assert "钱*多" in sheet.inner_text() and "无偿献血" in sheet.inner_text()
    screenshot(page, "disclosure")
    with page.expect_download() as csv_download:
        page.get_by_test_id("download-csv").click()
    csv_path = tmp_path / "disclosure.csv"
    csv_download.value.save_as(csv_path)
    text = csv_path.read_text(encoding="utf-8-sig")
    assert "钱*多" in text and "钱多多" not in text
    with page.expect_download() as xlsx_download:
        page.get_by_test_id("download-xlsx").click()
    xlsx_path = tmp_path / "disclosure.xlsx"
    xlsx_download.value.save_as(xlsx_path)
    rows = list(openpyxl.load_workbook(xlsx_path)["积分公示"].iter_rows(values_only=True))
    assert any(row[2] == "钱*多" and row[5] == 20 for row in rows)
