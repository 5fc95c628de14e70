"""Disputes in Chromium (#16 part 2): a resident on a 390-px phone disputes two lines of their
statement with a reason; at the desk PC station staff keep one (with a reason) and an
administrator corrects the other; the resident sees each status and answer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.conftest import DESK_PC, PHONE, Effort, axe_problems, screenshot
from tests.web.pages import give_award
from tests.web.test_browser import sign_in_resident, sign_in_staff
from tests.web.test_resident_phone_browser import SMALL_TARGETS, wide

pytestmark = pytest.mark.browser


def test_a_resident_disputes_lines_on_a_phone_and_the_desk_answers_them(new_page, live_world):
    community = live_world.community()
    station = live_world.station(community)
    clerk = live_world.staff("station_staff", station=station)
    admin = live_world.admin(community)
    member = live_world.member(community, name="王秀英")
    opening = admin.post("/api/v1/adjustments", json={"member_id": member.id, "unit": "COIN", "amount": 25, "reason": "开户"})
    assert opening.status_code == 201, opening.json
    give_award(live_world, community, member, code="PS-PATROL", admin_id=admin.id, station=station)

    phone = new_page(viewport=PHONE)
    sign_in_resident(phone, member)
    effort = Effort(phone)
    # From the statement: the line's own "dispute it" link opens the form with the line chosen.
    effort.tap(phone.get_by_role("navigation").get_by_role("link", name="明细"))
    expect(phone.get_by_test_id("dispute-line")).to_have_count(2)
    screenshot(phone, "resident-statement-dispute-links-phone")
    assert phone.evaluate(SMALL_TARGETS) == []
    effort.tap(phone.get_by_test_id("statement-line").filter(has_text="开户").get_by_test_id("dispute-line"))
    form = phone.get_by_test_id("dispute-form")
    options = form.locator("#f-transaction_id option").all_inner_texts()
    assert len(options) == 3, options  # "choose", the award and the opening balance
    assert "义务巡逻" in options[1] and "绿币" in options[1] and "PS-PATROL" not in options[1], options
    assert "开户" in form.locator("#f-transaction_id option:checked").inner_text()
    effort.fill(phone.locator("#f-reason"), "开户金额应为30")
    effort.tap(phone.get_by_test_id("send-dispute"))
    expect(phone.locator(".alert.ok")).to_be_visible()
    phone.select_option("#f-transaction_id", index=1)
    effort.taps += 2
    effort.fill(phone.locator("#f-reason"), "那天没有巡逻")
    effort.tap(phone.get_by_test_id("send-dispute"))
    mine = phone.get_by_test_id("disputes")
    expect(mine).to_contain_text("开户金额应为30")
    expect(mine).to_contain_text("待处理")
    screenshot(phone, "resident-disputes-sent-phone")
    assert axe_problems(phone) == []
    assert phone.evaluate(SMALL_TARGETS) == []
    assert not wide(phone)
    resident_effort = effort.as_dict()

    desk = new_page(viewport=DESK_PC)
    sign_in_staff(desk, clerk)
    desk_effort = Effort(desk)
    desk_effort.tap(desk.get_by_role("navigation").get_by_role("link", name="异议", exact=True))
    rows = desk.get_by_test_id("disputes")
    expect(rows).to_contain_text("王秀英")
    expect(rows).to_contain_text("义务巡逻")  # the line in words, not an internal kind
    assert "conduct_award" not in rows.inner_text() and "adjustment" not in rows.inner_text()
    opening_row = desk.locator("tr", has_text="开户金额应为30")
    desk_effort.fill(opening_row.get_by_label("答复（居民可以看到）"), "开户标准为25绿币，见公示")
    screenshot(desk, "desk-disputes-open")
    desk_effort.tap(opening_row.get_by_role("button", name="维持"))
    expect(desk.locator(".alert.ok")).to_be_visible()
    expect(desk.locator("tr", has_text="开户金额应为30")).to_contain_text("开户标准为25绿币")
    assert axe_problems(desk) == []

    office = new_page(viewport=DESK_PC)
    sign_in_staff(office, admin)
    office.get_by_role("navigation").get_by_role("link", name="异议", exact=True).click()
    patrol_row = office.locator("tr", has_text="那天没有巡逻")
    patrol_row.get_by_label("答复（居民可以看到）").fill("核实当天无巡逻记录")
    patrol_row.get_by_role("button", name="更正").click()
    expect(office.locator(".alert.ok")).to_be_visible()
    screenshot(office, "desk-disputes-answered")

    phone.reload()
    mine = phone.get_by_test_id("disputes")
    kept = mine.get_by_test_id("dispute").filter(has_text="开户金额应为30")
    corrected = mine.get_by_test_id("dispute").filter(has_text="那天没有巡逻")
    expect(kept.get_by_test_id("dispute-status")).to_have_text("已维持")
    expect(kept).to_contain_text("开户标准为25绿币")
    expect(corrected.get_by_test_id("dispute-status")).to_have_text("已更正")
    expect(corrected).to_contain_text("义务巡逻")
    expect(corrected).to_contain_text("核实当天无巡逻记录")
    assert live_world.balance(member) == 25  # the award was reversed, the opening balance kept
    screenshot(phone, "resident-disputes-answered-phone")
    assert phone.evaluate(SMALL_TARGETS) == []
    assert not wide(phone)
    # Two disputes on the phone: statement, "dispute it", type, send; then pick a line (2 taps), type,
    # send (was 9 taps: the disputes menu and a two-tap pick for each); the desk: menu, type, keep.
    assert resident_effort == {"taps": 8, "keys": 14, "scans": 0}
    assert desk_effort.as_dict() == {"taps": 3, "keys": 13, "scans": 0}
