"""The office's flows in a real browser: a household is formed, its head named, and its wallet read."""

from __future__ import annotations

import pytest

from service.members.models import Household
from tests.web.conftest import screenshot
from tests.web.test_browser import sign_in_staff

pytestmark = pytest.mark.browser


def test_the_office_forms_a_household_names_the_head_and_reads_who_earned_what(new_page, live_world):
    community = live_world.community()
    admin = live_world.admin(community)
    father = live_world.member(community, name="陈建国")
    daughter = live_world.member(community, name="陈小雨")
    page = new_page(viewport={"width": 1024, "height": 900})
    sign_in_staff(page, admin)
    page.get_by_role("link", name="家庭户").first.click()
    page.fill("#f-name", "陈家")
    page.fill("#f-address", "5组8号")
    page.get_by_role("button", name="创建").click()
    assert page.locator("h1").inner_text() == "陈家"
    for member in (father, daughter):
        page.fill("#resident", member.volunteer_number)
        page.get_by_role("button", name="添加").click()
    rows = page.get_by_test_id("household-members")
    assert "陈建国" in rows.inner_text() and "陈小雨" in rows.inner_text()
    page.locator(f"tr[data-member='{father.id}']").get_by_role("button", name="设为户主").click()
    assert page.locator(f"tr[data-member='{father.id}']").get_by_test_id("head").inner_text() == "户主"
    page.fill("#resident", "NOT-A-NUMBER")
    page.get_by_role("button", name="添加").click()
    assert "本社区没有这个志愿者编号或卡号的居民" in page.locator("main").inner_text()

    household_id = int(page.url.split("/office/households/")[1].split("?")[0])
    live_world.credit(live_world._run(lambda s: s.get(Household, household_id)), 25)
    page.reload()
    assert page.get_by_test_id("household-coins").inner_text() == "25"
    page.locator(f"tr[data-member='{daughter.id}']").get_by_role("button", name="移出").click()
    assert "陈小雨" not in page.get_by_test_id("household-members").inner_text()
    screenshot(page, "office-household")
    page.get_by_role("link", name="← 家庭户").click()
    assert "陈家" in page.get_by_test_id("households").inner_text()
