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
    page.locator(f"tr[data-member='{daughter.id}']").get_by_role("button", name="移出本户").click()
    assert "陈小雨" not in page.get_by_test_id("household-members").inner_text()
    screenshot(page, "office-household")
    page.get_by_role("link", name="← 家庭户").click()
    assert "陈家" in page.get_by_test_id("households").inner_text()


def test_the_office_changes_a_price_from_a_date_and_takes_stock_with_a_reason(new_page, live_world):
    from tests.web.pages import stocked_shop

    community = live_world.community()
    admin = live_world.admin(community)
    shop, products = stocked_shop(live_world, community, [("OIL1", "食用油", 15, 10), ("EGG", "鸡蛋", 3, 30)])
    page = new_page(viewport={"width": 1024, "height": 900})
    sign_in_staff(page, admin)
    page.get_by_role("link", name="商品目录").first.click()
    page.get_by_role("link", name="食用油").click()
    assert page.get_by_test_id("price").inner_text() == "15"
    page.fill("#f-price", "12")
    page.get_by_role("button", name="调整价格").click()
    assert page.get_by_test_id("price").inner_text() == "12"
    assert "已生效" in page.get_by_test_id("price-changes").inner_text()
    page.fill("#f-name", "花生油 5L")
    page.get_by_role("button", name="保存").click()
    assert page.locator("h1").inner_text() == "花生油 5L"
    page.get_by_test_id("toggle-sale").click()
    assert page.get_by_test_id("on-sale").inner_text() == "已下架"
    screenshot(page, "office-product")

    page.get_by_role("link", name="← 商品目录").click()
    page.get_by_role("link", name="盘点").first.click()
    oil = products[0].id
    page.fill(f"input[name='count-{oil}']", "8")
    page.select_option("#reason", "expired")
    page.fill("#note", "过期两桶")
    page.get_by_role("button", name="记录盘点").click()
    record = page.get_by_test_id("stock-take").first.inner_text()
    assert "过期" in record and "10 → 8" in record and "-2" in record
    page.fill(f"input[name='count-{oil}']", "9")
    page.select_option("#reason", "lost")
    page.get_by_role("button", name="记录盘点").click()
    assert "只能减少库存" in page.get_by_test_id("error").inner_text()
    screenshot(page, "office-stock-take")
