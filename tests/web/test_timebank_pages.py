"""Pages for giving hours to family, reversing approved service records, certificates (with the
public check page) and issuance budgets, through Flask's test client on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from ledger import Transaction, Unit
from service.privacy import mask_name
from tests.service.volunteering.support import at, build_desk, count, record_body
from tests.web.pages import hidden_fields, post_form, resident_browser, staff_browser, text_of


def approved_record(desk) -> dict:
    """A 120-minute record logged by one staff member and approved by another (through the API)."""
    response = desk.staff1.post("/api/v1/service-records", record_body(desk, at(1, 1), at(1, 3)))
    assert response.status_code == 201, response.json
    response = desk.staff2.post(f"/api/v1/service-records/{response.json['id']}/approve")
    assert response.status_code == 200 and response.json["status"] == "approved", response.json
    return response.json


# --- give hours to family -----------------------------------------------------------------------------


def test_resident_gives_hours_to_a_family_member_and_a_double_submit_gives_once(app, world):
    community = world.community()
    giver = world.member(community, name="李大爷")
    child = world.member(community, name="李小明")
    world.credit(giver, 300, Unit.HOUR)
    browser = resident_browser(app, giver)
    fields = hidden_fields(text_of(browser.get("/me/give-hours")))
    data = {**fields, "receiver": child.volunteer_number, "relation": "child", "minutes": "120", "note": "照顾"}
    first = browser.post("/me/give-hours", data=data)
    second = browser.post("/me/give-hours", data=data)
    assert first.status_code == second.status_code == 302
    assert world.balance(giver, Unit.HOUR) == 180 and world.balance(child, Unit.HOUR) == 120
    assert count(world, Transaction, Transaction.kind == "hour_transfer") == 1
    page = text_of(browser.get("/me/give-hours"))
    assert "李小明" in page and "我的子女" in page
    assert world.invariants() == {}


def test_giving_more_hours_than_owned_is_refused_in_plain_words_with_the_form_kept(app, world):
    community = world.community()
    giver = world.member(community)
    child = world.member(community, name="王小二")
    world.credit(giver, 60, Unit.HOUR)
    browser = resident_browser(app, giver)
    response = post_form(
        browser, "/me/give-hours", {"receiver": child.volunteer_number, "relation": "child", "minutes": "999"}
    )
    assert response.status_code == 409
    html = text_of(response)
    assert "您没有这么多小时" in html
    assert f'value="{child.volunteer_number}"' in html and 'value="999"' in html
    assert 'value="child" selected' in html
    assert world.balance(giver, Unit.HOUR) == 60 and world.balance(child, Unit.HOUR) == 0


def test_the_receivers_storage_cap_and_an_unknown_receiver_are_explained(app, world):
    community = world.community(hour_storage_cap_minutes=100)
    giver = world.member(community)
    other = world.member(community, name="赵六")
    world.credit(giver, 300, Unit.HOUR)
    world.credit(other, 60, Unit.HOUR)
    browser = resident_browser(app, giver)
    capped = post_form(browser, "/me/give-hours", {"receiver": other.card_code, "relation": "sibling", "minutes": "50"})
    assert capped.status_code == 422 and "存储上限" in text_of(capped)
    unknown = post_form(browser, "/me/give-hours", {"receiver": "NOPE-1", "relation": "sibling", "minutes": "5"})
    assert unknown.status_code == 422 and "NOPE-1" in text_of(unknown)
    browser.get("/lang/en?next=/me")
    english = post_form(browser, "/me/give-hours", {"receiver": other.card_code, "relation": "sibling", "minutes": "50"})
    assert "storage limit" in text_of(english)
    assert world.balance(giver, Unit.HOUR) == 300


# --- reverse an approved record -----------------------------------------------------------------------


def test_station_staff_reverse_an_approved_record_once_with_a_reason(app, world):
    desk = build_desk(world)
    record = approved_record(desk)
    assert world.balance(desk.member, Unit.HOUR) == 120
    browser = staff_browser(app, desk.staff1)
    page = text_of(browser.get("/desk/approved"))
    assert 'data-testid="approved-record"' in page and f'id="record-{record["id"]}"' in page
    data = {**hidden_fields(page), "record_id": str(record["id"]), "reason": "志愿者当天未到场"}
    first = browser.post("/desk/approved", data=data)
    second = browser.post("/desk/approved", data=data)
    assert first.status_code == second.status_code == 302
    assert world.balance(desk.member, Unit.HOUR) == 0 and world.balance(desk.member) == 0
    assert count(world, Transaction, Transaction.reverses_id == record["transaction_id"]) == 1
    shown = desk.admin.get(f"/api/v1/service-records/{record['id']}").json
    assert shown["status"] == "reversed" and shown["reversal_reason"] == "志愿者当天未到场"
    assert 'data-testid="no-approved"' in text_of(browser.get("/desk/approved"))
    assert world.invariants() == {}


def test_a_reversal_of_hours_already_given_away_is_refused_with_the_reason_kept(app, world):
    desk = build_desk(world)
    record = approved_record(desk)
    relative = world.member(desk.community, name="钱七")
    gift = world.resident(desk.member).post(
        "/api/v1/hour-transfers",
        {"from_member_id": desk.member.id, "to_member_id": relative.id, "minutes": 100, "relation": "parent"},
    )
    assert gift.status_code == 201, gift.json
    browser = staff_browser(app, world.admin(desk.community))
    response = post_form(browser, "/desk/approved", {"record_id": str(record["id"]), "reason": "登记错误"})
    assert response.status_code == 409
    html = text_of(response)
    assert "已经用掉" in html and 'value="登记错误"' in html
    missing = post_form(browser, "/desk/approved", {"record_id": str(record["id"]), "reason": ""})
    assert missing.status_code == 422 and 'data-testid="field-error-reason"' in text_of(missing)
    assert world.balance(desk.member, Unit.HOUR) == 20


def test_a_supervisor_cannot_open_the_reversal_page(app, world):
    desk = build_desk(world)
    supervisor = staff_browser(app, desk.supervisor)
    assert supervisor.get("/desk/approved").status_code == 403


# --- certificates ----------------------------------------------------------------------------------


def test_resident_issues_a_certificate_that_anyone_can_check_masked_and_printable(app, world):
    desk = build_desk(world)
    approved_record(desk)
    browser = resident_browser(app, desk.member)
    page = text_of(browser.get("/me/certificates"))
    response = browser.post(f"/members/{desk.member.id}/certificates", data=hidden_fields(page))
    again = browser.post(f"/members/{desk.member.id}/certificates", data=hidden_fields(page))
    assert response.status_code == again.status_code == 302
    assert response.headers["Location"] == again.headers["Location"]
    path = response.headers["Location"]
    assert "/certificates/GC" in path
    assert text_of(browser.get("/me/certificates")).count("/certificates/GC") == 1
    public = text_of(app.test_client().get(path))  # nobody signed in
    assert "平台记录" in public and mask_name(desk.member.name) in public
    assert desk.member.name not in public and 'data-action="print"' in public
    assert 'data-testid="certificate-hours">2<' in public and 'data-testid="certificate-intact"' in public


def test_staff_issue_a_certificate_from_the_residents_page_and_an_unknown_number_is_plain(app, world):
    desk = build_desk(world)
    approved_record(desk)
    browser = staff_browser(app, desk.staff2)
    member_page = f"/office/members/{desk.member.id}"
    response = post_form(browser, f"/members/{desk.member.id}/certificates", {}, page=member_page)
    assert response.status_code == 302 and "/certificates/GC" in response.headers["Location"]
    assert response.headers["Location"].rsplit("/", 1)[1] in text_of(browser.get(member_page))
    anyone = app.test_client()
    missing = anyone.get("/certificates/GC20260101-0000000000")
    assert missing.status_code == 404 and "没有这个编号的证明" in text_of(missing)
    garbled = anyone.get("/certificates/%3Cscript%3E")
    assert garbled.status_code == 404 and "这不是有效的证明编号" in text_of(garbled)
    number = response.headers["Location"].rsplit("/", 1)[1]
    looked_up = anyone.get(f"/certificates?number={number}")
    assert looked_up.status_code == 302 and looked_up.headers["Location"].endswith(f"/certificates/{number}")
    typo = anyone.get("/certificates?number=GC 2026/1")
    assert typo.status_code == 422 and "这不是有效的证明编号" in text_of(typo) and 'value="GC 2026/1"' in text_of(typo)


def test_a_resident_cannot_issue_a_certificate_for_someone_else(app, world):
    desk = build_desk(world)
    other = world.member(desk.community, name="孙八")
    browser = resident_browser(app, desk.member)
    page = text_of(browser.get("/me/certificates"))
    response = browser.post(f"/members/{other.id}/certificates", data=hidden_fields(page), follow_redirects=True)
    assert "/certificates/GC" not in text_of(response)
    with world.app.app_context():
        from service.extensions import db
        from service.volunteering.models import Certificate

        assert db.session.scalars(select(Certificate).where(Certificate.member_id == other.id)).all() == []


# --- issuance budgets ------------------------------------------------------------------------------


def test_admin_adds_a_budget_and_an_overlapping_one_is_refused_with_the_form_kept(app, world):
    community = world.community()
    admin = staff_browser(app, world.admin(community))
    created = post_form(admin, "/office/budgets", {"period_start": "2026-01-01", "period_end": "2026-12-31", "coins": "5000"})
    assert created.status_code == 302
    assert "5000" in text_of(admin.get("/office/budgets"))
    overlap = post_form(admin, "/office/budgets", {"period_start": "2026-06-01", "period_end": "2026-06-30", "coins": "777"})
    assert overlap.status_code == 409
    html = text_of(overlap)
    assert "已有另一个额度" in html and 'value="777"' in html and 'value="2026-06-01"' in html
    backwards = post_form(admin, "/office/budgets", {"period_start": "2027-02-01", "period_end": "2027-01-01", "coins": "1"})
    assert backwards.status_code == 422 and "早于" in text_of(backwards)
    with world.app.app_context():
        from service.conduct.models import IssuanceBudget
        from service.extensions import db

        assert len(db.session.scalars(select(IssuanceBudget).where(IssuanceBudget.community_id == community.id)).all()) == 1


def test_a_supervisor_sees_budgets_read_only(app, world):
    community = world.community()
    supervisor = staff_browser(app, world.staff("supervisor", community=community))
    html = text_of(supervisor.get("/office/budgets"))
    assert 'data-testid="budgets"' in html and 'name="coins"' not in html
    response = supervisor.post("/office/budgets", data={**hidden_fields(html), "period_start": "2026-01-01",
                                                         "period_end": "2026-01-31", "coins": "9"})
    assert response.status_code == 403


# --- give hours: the household picker and the family rule ----------------------------------------------


def test_a_resident_gives_hours_to_someone_of_their_household_without_typing_a_relation(app, world):
    community = world.community()
    home = world.household(community, name="李家")
    giver = world.member(community, name="李大爷", household=home)
    daughter = world.member(community, name="李小红", household=home)
    world.member(community, name="邻居王", household=world.household(community, name="王家"))
    world.credit(giver, 300, Unit.HOUR)
    browser = resident_browser(app, giver)
    page = text_of(browser.get("/me/give-hours"))
    assert f'value="member:{daughter.id}"' in page and "李小红" in page and "邻居王" not in page
    given = post_form(browser, "/me/give-hours", {"to": f"member:{daughter.id}", "minutes": "90"})
    assert given.status_code == 302, text_of(given)
    assert world.balance(daughter, Unit.HOUR) == 90
    assert "同户家人" in text_of(browser.get("/me/give-hours"))
    statement = text_of(resident_browser(app, giver).get("/me/statement?unit=HOUR"))
    assert "同户家人" in statement and "hour transfer" not in statement


def test_the_household_relation_is_checked_against_the_register_and_every_problem_is_shown(app, world):
    community = world.community()
    giver = world.member(community, name="赵一", household=world.household(community, name="赵家"))
    stranger = world.member(community, name="钱二", household=world.household(community, name="钱家"))
    world.credit(giver, 300, Unit.HOUR)
    browser = resident_browser(app, giver)
    # A picked id that is not in the household is refused, as is "household" through the API.
    forged = post_form(browser, "/me/give-hours", {"to": f"member:{stranger.id}", "minutes": "30"})
    assert forged.status_code == 422 and 'data-testid="field-error-to"' in text_of(forged)
    api = world.resident(giver).post("/api/v1/hour-transfers", {
        "from_member_id": giver.id, "to_member_id": stranger.id, "minutes": 30, "relation": "household"})
    assert api.status_code == 422 and api.json["error"]["code"] == "not_same_household"
    # By number: no number, no relation and no minutes are reported together, in the reader's language.
    empty = text_of(post_form(browser, "/me/give-hours", {"to": "number", "receiver": "", "relation": "", "minutes": ""}))
    for name in ("receiver", "relation", "minutes"):
        assert f'data-testid="field-error-{name}"' in empty, name
    assert "请填写家人的志愿者编号" in empty and "请选择接收人与您的关系" in empty
    browser.get("/lang/en?next=/me")
    english = text_of(post_form(browser, "/me/give-hours", {"to": "number", "receiver": "V9", "relation": "friend", "minutes": "5"}))
    assert "No volunteer with this number" in english and "Choose how the receiver is related to you." in english
    by_number = post_form(browser, "/me/give-hours", {
        "to": "number", "receiver": stranger.volunteer_number.lower(), "relation": "sibling", "minutes": "30"})
    assert by_number.status_code == 302 and world.balance(stranger, Unit.HOUR) == 30
    assert world.balance(giver, Unit.HOUR) == 270
