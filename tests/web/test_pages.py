"""Pages through Flask's test client, on SQLite and PostgreSQL: sign-in, access, CSRF, the
resident page, the office pages and friendly errors in both languages."""

from __future__ import annotations

import re

from ledger import Unit
from service.members.cards import format_card_code
from tests.web.pages import (
    give_award,
    hidden_fields,
    post_form,
    resident_browser,
    staff_browser,
    stocked_shop,
    text_of,
)


def test_root_redirects_to_a_sign_in_page_with_both_choices(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    html = text_of(client.get("/sign-in"))
    assert "/sign-in/staff" in html and "/sign-in/resident" in html


def test_resident_page_shows_balance_star_chart_and_card(app, world):
    community = world.community()
    member = world.member(community, name="李小红")
    world.credit(member, 35)
    world.credit(member, 150 * 60, Unit.HOUR)
    browser = resident_browser(app, member)
    html = text_of(browser.get("/me"))
    assert 'data-testid="coins">35<' in html
    assert 'data-testid="hours-chart"' in html
    card = text_of(browser.get("/me/card"))
    assert "<svg" in card and format_card_code(member.card_code) in card  # printed in groups of four
    statement = text_of(browser.get("/me/statement"))
    assert "+35" in statement


def test_wrong_pin_is_refused_in_plain_chinese_and_keeps_the_card_code(app, world):
    member = world.member(world.community())
    client = app.test_client()
    response = post_form(client, "/sign-in/resident", {"card_code": member.card_code, "pin": "000000"})
    assert response.status_code == 401
    html = text_of(response)
    assert member.card_code in html
    assert "不对" in html


def test_a_form_post_without_the_csrf_token_is_refused(app, world):
    community = world.community()
    admin = staff_browser(app, world.admin(community))
    response = admin.post("/office/places", data={"kind": "station", "code": "X1", "name": "无令牌服务站"})
    assert response.status_code == 400
    # The name, not the code: random CSRF tokens and form keys in the page can contain "X1".
    assert "无令牌服务站" not in text_of(admin.get("/office/places"))


def test_the_api_takes_bearer_tokens_without_csrf(world):
    community = world.community()
    admin = world.admin(community)
    response = admin.post("/api/v1/stations", {"community_id": community.id, "code": "API1", "name": "站"})
    assert response.status_code == 201, response.json


def test_a_cashier_cannot_open_the_office_pages(app, world):
    community = world.community()
    shop = world.supermarket(community)
    cashier = staff_browser(app, world.staff("cashier", supermarket=shop))
    assert cashier.get("/office/staff").status_code == 403
    assert cashier.get("/me").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/office/settings")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_admin_changes_the_rate_and_a_bad_value_keeps_the_form_filled_in(app, world):
    community = world.community()
    admin = staff_browser(app, world.admin(community))
    response = post_form(admin, "/office/settings", {"name": community.name, "coins_per_hour": "abc", "daily_cap_minutes": "300"})
    assert response.status_code == 422
    html = text_of(response)
    assert 'value="abc"' in html and 'value="300"' in html
    response = post_form(admin, "/office/settings", {"name": community.name, "coins_per_hour": "12", "four_eyes": "1"})
    assert response.status_code == 302
    assert 'value="12"' in text_of(admin.get("/office/settings"))


def test_supervisor_sees_settings_without_a_save_button_and_cannot_post(app, world):
    community = world.community()
    supervisor = staff_browser(app, world.staff("supervisor", community=community))
    html = text_of(supervisor.get("/office/settings"))
    assert "disabled" in html
    response = supervisor.post("/office/settings", data={**hidden_fields(html), "coins_per_hour": "99"})
    assert response.status_code == 403


def test_registering_a_resident_twice_with_the_same_form_creates_one(app, world):
    community = world.community()
    station = world.station(community)
    desk = staff_browser(app, world.staff("station_staff", station=station))
    fields = hidden_fields(text_of(desk.get("/desk/members")))
    data = {**fields, "name": "王五", "phone": "13800001111"}
    first = desk.post("/desk/members", data=data)
    second = desk.post("/desk/members", data=data)
    # The first answer is the member card with the generated PIN shown once (in the page, not in a
    # flash cookie); the resent form shows the same resident's card without it.
    assert first.status_code == 200 and 'data-testid="new-pin"' in text_of(first)
    member_link = re.search(r'href="(/office/members/\d+)"', text_of(first)).group(1)
    assert second.status_code == 200 and 'data-testid="new-pin"' not in text_of(second)
    assert member_link in text_of(second) and 'data-testid="member-card"' in text_of(second)
    found = text_of(desk.get("/desk/members?q=王五"))
    assert found.count("/office/members/") == 1


def test_language_switch_is_kept_for_the_next_pages(app, world):
    member = world.member(world.community())
    browser = resident_browser(app, member)
    assert "我的" in text_of(browser.get("/me")) or "绿币" in text_of(browser.get("/me"))
    browser.get("/lang/en?next=/me")
    html = text_of(browser.get("/me"))
    assert 'lang="en"' in html and "Green coins" in html


def test_resident_sees_the_catalogue_of_their_community_without_exact_stock(app, world):

    community = world.community()
    stocked_shop(world, community, [("OIL1", "食用油", 30, 5), ("SOAP", "肥皂", 5, 0)])
    other = world.community()
    stocked_shop(world, other, [("TEA", "茶叶", 9, 3)])
    browser = resident_browser(app, world.member(community))
    html = text_of(browser.get("/me/catalogue"))
    assert "食用油" in html and "肥皂" in html and "缺货" in html
    assert "茶叶" not in html


PAGES = {
    "admin": ["/office", "/office/settings", "/office/places", "/office/staff", "/office/members",
              "/office/indicators", "/office/catalogue", "/office/disclosure", "/office/reconciliation",
              "/office/alerts", "/office/oversight", "/office/oversight?kind=awards", "/desk/members"],
    "supervisor": ["/office", "/office/settings", "/office/places", "/office/staff", "/office/members",
                   "/office/indicators", "/office/catalogue", "/office/disclosure", "/office/reconciliation",
                   "/office/alerts", "/office/oversight", "/office/oversight?kind=awards"],
    "station_staff": ["/desk", "/desk/members", "/desk/hours", "/desk/pending", "/desk/conduct"],
    "cashier": ["/counter", "/counter/refunds", "/counter/close-out"],
    "resident": ["/me", "/me/statement", "/me/card", "/me/catalogue"],
}


def test_every_page_of_every_role_opens_in_chinese_and_in_english(app, world):
    community = world.community()
    station = world.station(community)
    shop, _products = stocked_shop(world, community, [("OIL1", "食用油", 30, 5)])
    member = world.member(community)
    browsers = {
        "admin": staff_browser(app, world.admin(community)),
        "supervisor": staff_browser(app, world.staff("supervisor", community=community)),
        "station_staff": staff_browser(app, world.staff("station_staff", station=station)),
        "cashier": staff_browser(app, world.staff("cashier", supermarket=shop)),
        "resident": resident_browser(app, member),
    }
    for role, paths in PAGES.items():
        browser = browsers[role]
        for lang, marker in (("en", 'lang="en"'), ("zh", 'lang="zh-CN"')):
            browser.get(f"/lang/{lang}")
            for path in paths:
                response = browser.get(path)
                assert response.status_code == 200, (role, lang, path)
                assert marker in text_of(response), (role, lang, path)


def test_supervisor_flags_an_award_and_the_administrator_reverses_it(app, world):
    community = world.community()
    member = world.member(community, name="吴一凡")
    admin_caller = world.admin(community)

    award_id = give_award(world, community, member, code="PW-BLOOD", admin_id=admin_caller.id)
    assert world.balance(member) == 20
    supervisor = staff_browser(app, world.staff("supervisor", community=community))
    page = text_of(supervisor.get("/office/disclosure"))
    assert f'name="award_id" value="{award_id}"' in page
    response = supervisor.post(
        "/office/disclosure", data={**hidden_fields(page), "award_id": award_id, "reason": "没有献血证明"}
    )
    assert response.status_code == 302
    admin = staff_browser(app, admin_caller)
    alerts = text_of(admin.get("/office/alerts"))
    assert "没有献血证明" in alerts
    flag_id = int(alerts.split('name="flag_id" value="')[1].split('"')[0])
    response = admin.post(
        "/office/alerts", data={**hidden_fields(alerts), "flag_id": flag_id, "decision": "reverse", "note": "核实无证明"}
    )
    assert response.status_code == 302
    assert world.balance(member) == 0
    assert world.invariants() == {}


def test_admin_adds_an_indicator_and_a_bad_point_value_is_explained(app, world):
    community = world.community()
    admin = staff_browser(app, world.admin(community))
    response = post_form(admin, "/office/indicators", {"code": "X-1", "name": "测试", "category": "environment", "points": "0"})
    assert response.status_code == 422
    assert 'value="X-1"' in text_of(response)
    response = post_form(admin, "/office/indicators", {"code": "X-1", "name": "测试", "category": "environment", "points": "7"})
    assert response.status_code == 302
    assert "X-1" in text_of(admin.get("/office/indicators"))


def test_disclosure_xlsx_and_csv_mask_names(app, world):
    import io

    import openpyxl

    community = world.community()
    admin = staff_browser(app, world.admin(community))
    month = text_of(admin.get("/office/disclosure")).split('name="month" value="')[1][:7]
    response = admin.get(f"/office/disclosure/{month}.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["积分公示", "爱心超市", "监督异议"]
    assert admin.get(f"/office/disclosure/{month}.csv").status_code == 200


def test_resident_is_warned_of_coins_due_to_expire_soon(app, world):
    import datetime as dt
    from zoneinfo import ZoneInfo

    soon = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=10)
    community = world.community(coin_expiry_month_day=soon.strftime("%m-%d"))
    member = world.member(community)
    world.credit(member, 12)
    html = text_of(resident_browser(app, member).get("/me"))
    assert 'data-testid="expiring"' in html and soon.isoformat() in html


def test_every_page_declares_who_may_open_it(app):
    from service.auth.access import declared_access

    pages = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("web.") and rule.endpoint != "web.static"]
    assert len(pages) > 30
    undeclared = [rule.rule for rule in pages if declared_access(app.view_functions[rule.endpoint]) is None]
    assert undeclared == []


def test_sign_out_revokes_the_session_token(app, world):
    community = world.community()
    admin = staff_browser(app, world.admin(community))
    page = text_of(admin.get("/office"))
    assert admin.post("/sign-out", data=hidden_fields(page)).status_code == 302
    assert admin.get("/office").status_code == 302


def test_the_audit_log_page_names_the_staff_member_who_acted(app, world):
    community = world.community()
    admin = world.admin(community)
    supervisor = world.staff("supervisor", community=community)
    assert admin.post(f"/api/v1/staff/{supervisor.id}/deactivate").status_code == 200
    html = text_of(staff_browser(app, admin).get(f"/office/audit?community={community.id}"))
    table = html[html.index('data-testid="audit-events"'):]
    assert f"<td>员工{admin.username}</td>\n  <td><code>staff.deactivate</code>" in table
