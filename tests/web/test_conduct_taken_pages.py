"""Deductions show what was actually taken and the shortfall (a deduction takes at most what the
wallet holds), and household awards show the household, on the desk's list and the resident's
statement."""

from __future__ import annotations

import re

from tests.web.pages import give_award, post_form, resident_browser, staff_browser, text_of


def indicator_id(html: str, code_name: str) -> str:
    return re.search(rf'<option value="(\d+)"[^>]*>{code_name} ', html).group(1)


def test_a_household_deduction_says_what_was_taken_and_what_was_short(app, world):
    community = world.community()
    station = world.station(community)
    home = world.household(community, name="王家")
    earner = world.member(community, name="王建明", household=home)
    reader = world.member(community, name="王秀英", household=home)
    world.credit(home, 5)
    world.credit(reader, 7)
    desk = staff_browser(app, world.staff("station_staff", station=station))
    give_award(world, community, reader, code="PS-PATROL", admin_id=world.admin(community).id)
    page = text_of(desk.get("/desk/conduct"))
    saved = post_form(desk, "/desk/conduct", {
        "indicator_id": indicator_id(page, "乱倒垃圾"), "resident": earner.volunteer_number, "note": "河边倒垃圾",
    }, follow_redirects=True)
    html = text_of(saved)
    # The clerk is told what moved, from whom, and the shortfall.
    assert "从户：王家扣除 5 绿币（应扣 20）" in html and "15 绿币因余额不足未扣" in html, html
    row = re.search(r'<tr data-testid="award-\d+">.*?乱倒垃圾.*?</tr>', html, re.S).group(0)
    assert "王家" in row and "王建明" in row
    assert "应扣 20，实扣 5，差 15" in row
    # A full deduction says so without a shortfall; a member's award names the member only.
    assert re.search(r'<tr data-testid="award-\d+">.*?义务巡逻.*?王秀英.*?</tr>', html, re.S)

    resident = resident_browser(app, reader)
    coins = text_of(resident.get("/me/statement"))
    assert 'data-testid="tab-household"' in coins
    household = text_of(resident.get("/me/statement?unit=HOUSEHOLD"))
    assert "王家" in household and "乱倒垃圾" in household
    assert "应扣 20，实扣 5，差 15" in household and "王*明" in household  # the earner, masked
    assert "-5 绿币" in household


def test_a_resident_without_a_household_has_no_household_tab(app, world):
    community = world.community()
    member = world.member(community, name="李四")
    resident = resident_browser(app, member)
    assert 'data-testid="tab-household"' not in text_of(resident.get("/me/statement"))
    # Asking for it anyway shows their own coins, not an error.
    assert text_of(resident.get("/me/statement?unit=HOUSEHOLD")).count('aria-current="page"') == 1


def test_a_deduction_that_took_nothing_is_still_on_the_residents_statement(app, world):
    community = world.community()
    station = world.station(community)
    home = world.household(community, name="赵家")
    member = world.member(community, name="赵大", household=home)
    desk = staff_browser(app, world.staff("station_staff", station=station))
    page = text_of(desk.get("/desk/conduct"))
    saved = post_form(desk, "/desk/conduct", {
        "indicator_id": indicator_id(page, "乱倒垃圾"), "resident": member.volunteer_number, "note": "空钱包",
    }, follow_redirects=True)
    assert "应扣 20，实扣 0，差 20" in text_of(saved)
    resident = resident_browser(app, member)
    household = text_of(resident.get("/me/statement?unit=HOUSEHOLD"))
    notice = re.search(r'data-testid="nothing-taken">(.*?)</div>', household, re.S).group(1)
    assert "乱倒垃圾" in notice and "应扣 20，实扣 0，差 20" in notice
    assert 'data-testid="nothing-taken"' not in text_of(resident.get("/me/statement?unit=COIN"))
    assert 'data-testid="nothing-taken"' not in text_of(resident.get("/me/statement?unit=HOUSEHOLD&month=2001-01"))
