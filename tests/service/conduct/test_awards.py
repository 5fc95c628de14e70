"""Good-conduct indicators, awards, deductions, caps, budgets and the notice period."""

import datetime as dt

import pytest

from service.conduct.models import ConductAward
from service.conduct.operations import credit_due_awards
from service.extensions import db

from ..volunteering.support import build_desk, count, transactions


@pytest.fixture
def desk(world):
    return build_desk(world)


def indicator(desk, **fields):
    body = {"community_id": desk.community.id, "code": "T-1", "name": "义务巡逻", "category": "public_safety", "points": 5}
    body.update(fields)
    response = desk.admin.post("/api/v1/indicators", body)
    assert response.status_code == 201, response.json
    return response.json


def award(desk, caller, indicator_id, **fields):
    body = {"indicator_id": indicator_id, "member_id": desk.member.id, "note": "巡逻两小时"}
    body.update(fields)
    return caller.post("/api/v1/conduct-awards", {k: v for k, v in body.items() if v is not None})


def test_an_award_credits_the_member_from_issuance(world, desk):
    made = indicator(desk)
    response = award(desk, desk.staff1, made["id"])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "credited" and body["points"] == 5 and body["amount_posted"] == 5
    assert body["station_id"] == desk.station.id and body["awarded_by"] == desk.staff1.id
    assert world.balance(desk.member) == 5
    line = desk.admin.get(f"/api/v1/members/{desk.member.id}/statement").json["lines"][0]
    assert "义务巡逻" in line["description"] and line["kind"] == "conduct_award"
    assert world.invariants() == {}


def test_changing_an_indicator_never_changes_past_awards(world, desk):
    made = indicator(desk)
    first = award(desk, desk.staff1, made["id"]).json
    assert desk.admin.patch(f"/api/v1/indicators/{made['id']}", {"points": 8}).json["points"] == 8
    second = award(desk, desk.staff1, made["id"]).json
    assert desk.admin.get(f"/api/v1/conduct-awards/{first['id']}").json["points"] == 5
    assert second["points"] == 8 and world.balance(desk.member) == 13


def test_a_deduction_takes_what_is_there_and_records_the_shortfall(world, desk):
    made = indicator(desk, code="D-1", name="乱倒垃圾", category="environment", points=-20)
    world.credit(desk.member, 7)
    body = award(desk, desk.staff1, made["id"]).json
    assert (body["amount_posted"], body["shortfall"]) == (-7, 13)
    assert world.balance(desk.member) == 0
    empty = award(desk, desk.staff1, made["id"]).json
    assert (empty["amount_posted"], empty["shortfall"], empty["transaction_id"]) == (0, 20, None)
    assert world.invariants() == {}


def test_household_indicators_credit_the_household_and_record_who_earned_it(world, desk):
    household = world.household(desk.community)
    earner = world.member(desk.community, name="赵六", household=household)
    made = indicator(desk, code="H-1", name="家庭六齐", category="environment", points=20, beneficiary="household")
    wrong = award(desk, desk.staff1, made["id"])
    assert wrong.status_code == 422 and wrong.json["error"]["code"] in ("household_required", "validation_error")
    body = award(desk, desk.staff1, made["id"], member_id=None, household_id=household.id, earned_by_member_id=earner.id).json
    assert body["household_id"] == household.id and body["earned_by_member_id"] == earner.id
    assert world.balance(household) == 20
    stranger = award(desk, desk.staff1, made["id"], member_id=None, household_id=household.id, earned_by_member_id=desk.member.id)
    assert stranger.status_code == 422 and stranger.json["error"]["code"] == "earner_not_in_household"


def test_the_monthly_cap_per_beneficiary_holds(world, desk):
    made = indicator(desk, monthly_cap_points=10)
    assert award(desk, desk.staff1, made["id"]).status_code == 201
    assert award(desk, desk.staff1, made["id"]).status_code == 201
    third = award(desk, desk.staff1, made["id"])
    assert third.status_code == 422 and third.json["error"]["code"] == "monthly_cap_reached"
    other = world.member(desk.community, name="李四")
    assert award(desk, desk.staff1, made["id"], member_id=other.id).status_code == 201
    assert count(world, ConductAward) == 3 and world.balance(desk.member) == 10


def test_an_award_over_the_issuance_budget_is_refused_with_a_clear_reason(world, desk):
    today = dt.date.today()
    budget = desk.admin.post("/api/v1/issuance-budgets", {
        "community_id": desk.community.id, "period_start": (today - dt.timedelta(days=40)).isoformat(),
        "period_end": (today + dt.timedelta(days=40)).isoformat(), "coins": 12,
    })
    assert budget.status_code == 201, budget.json
    made = indicator(desk)
    assert award(desk, desk.staff1, made["id"]).status_code == 201
    assert award(desk, desk.staff1, made["id"]).status_code == 201
    refused = award(desk, desk.staff1, made["id"])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "issuance_budget_exceeded"
    assert refused.json["error"]["details"]["remaining"] == 2
    assert desk.admin.get("/api/v1/issuance-budgets").json[0]["used"] == 10
    deduction = indicator(desk, code="D-1", points=-3)
    assert award(desk, desk.staff1, deduction["id"]).status_code == 201  # deductions issue nothing
    overlapping = desk.admin.post("/api/v1/issuance-budgets", {
        "community_id": desk.community.id, "period_start": today.isoformat(), "period_end": today.isoformat(), "coins": 5,
    })
    assert overlapping.status_code == 409 and overlapping.json["error"]["code"] == "budget_period_overlap"
    assert desk.staff1.post("/api/v1/issuance-budgets", {
        "community_id": desk.community.id, "period_start": "2030-01-01", "period_end": "2030-01-31", "coins": 5,
    }).status_code == 403


def test_with_a_notice_period_awards_are_announced_then_credited_when_due(world):
    desk = build_desk(world, notice_period_days=7)
    made = indicator(desk)
    deduction = indicator(desk, code="D-1", points=-4)
    body = award(desk, desk.staff1, made["id"]).json
    assert body["status"] == "announced" and body["transaction_id"] is None
    assert world.balance(desk.member) == 0
    held = award(desk, desk.staff1, made["id"]).json
    ded = award(desk, desk.staff1, deduction["id"]).json
    due = dt.date.fromisoformat(body["credit_due_on"])

    def run(day):
        with world.app.app_context():
            return db.run(lambda s: credit_due_awards(s, day))

    def dispute(s):
        s.get(ConductAward, held["id"]).status = "disputed"

    with world.app.app_context():
        db.run(dispute)
    assert run(due - dt.timedelta(days=1)) == 0
    assert run(due) == 2  # the award and the deduction; the disputed one waits
    assert run(due) == 0  # safe to run twice
    assert world.balance(desk.member) == 1  # +5, then -4
    assert desk.admin.get(f"/api/v1/conduct-awards/{ded['id']}").json["amount_posted"] == -4
    assert desk.admin.get(f"/api/v1/conduct-awards/{held['id']}").json["status"] == "disputed"
    assert world.invariants() == {}


def test_reversing_an_award_posts_a_reversal_and_only_administrators_may(world, desk):
    made = indicator(desk)
    body = award(desk, desk.staff1, made["id"]).json
    assert desk.staff1.post(f"/api/v1/conduct-awards/{body['id']}/reverse", {"reason": "x"}).status_code == 403
    assert desk.supervisor.post(f"/api/v1/conduct-awards/{body['id']}/reverse", {"reason": "x"}).status_code == 403
    reversed_ = desk.admin.post(f"/api/v1/conduct-awards/{body['id']}/reverse", {"reason": "监督委员会异议成立"})
    assert reversed_.status_code == 200 and reversed_.json["status"] == "reversed"
    assert world.balance(desk.member) == 0
    again = desk.admin.post(f"/api/v1/conduct-awards/{body['id']}/reverse", {"reason": "x"})
    assert again.status_code == 409 and again.json["error"]["code"] == "award_already_reversed"
    assert transactions(world, "conduct_award.reversal") == 1
    assert world.invariants() == {}


def test_an_announced_award_is_withdrawn_without_a_posting(world):
    desk = build_desk(world, notice_period_days=3)
    body = award(desk, desk.staff1, indicator(desk)["id"]).json
    assert desk.admin.post(f"/api/v1/conduct-awards/{body['id']}/reverse", {"reason": "误报"}).json["status"] == "reversed"
    assert transactions(world) == 0


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"indicator_id": 999999}, 404),
        ({"member_id": 999999}, 404),
        ({"note": ""}, 422),
        ({"note": None}, 422),
        ({"household_id": 1}, 422),
        ({"indicator_id": "1"}, 422),
        ({"note": "a\x00b"}, 422),  # PostgreSQL stores no NUL: it was a 500
    ],
)
def test_hostile_awards_are_refused_and_write_nothing(world, desk, fields, status):
    made = indicator(desk)
    body = {"indicator_id": made["id"], "member_id": desk.member.id, "note": "n", **fields}
    response = desk.staff1.post("/api/v1/conduct-awards", {k: v for k, v in body.items() if v is not None})
    assert response.status_code == status, response.json
    assert count(world, ConductAward) == 0 and transactions(world) == 0


def test_roles_on_indicators_and_awards(world, desk):
    made = indicator(desk)
    assert desk.staff1.post("/api/v1/indicators", {
        "community_id": desk.community.id, "code": "X", "name": "x", "category": "environment", "points": 1,
    }).status_code == 403
    assert desk.staff1.patch(f"/api/v1/indicators/{made['id']}", {"points": 50}).status_code == 403
    assert award(desk, desk.supervisor, made["id"]).status_code == 403
    me = world.resident(desk.member)
    assert award(desk, me, made["id"]).status_code == 403
    award(desk, desk.staff1, made["id"])
    neighbour = world.member(desk.community, name="李四")
    award(desk, desk.staff1, made["id"], member_id=neighbour.id)
    assert len(me.get("/api/v1/conduct-awards").json) == 1
    assert len(desk.supervisor.get("/api/v1/conduct-awards").json) == 2
    outsider = build_desk(world)
    assert outsider.admin.get(f"/api/v1/indicators/{made['id']}").status_code == 404
    assert award(outsider, outsider.staff1, made["id"]).status_code == 404
    assert award(desk, desk.staff1, made["id"], station_id=world.station(desk.community).id).status_code == 403


def test_inactive_indicators_cannot_be_awarded(world, desk):
    made = indicator(desk)
    desk.admin.patch(f"/api/v1/indicators/{made['id']}", {"active": False})
    response = award(desk, desk.staff1, made["id"])
    assert response.status_code == 422 and response.json["error"]["code"] == "indicator_inactive"


def test_a_new_community_starts_with_the_default_categories_and_example_indicators(world, desk):
    categories = desk.admin.get("/api/v1/indicator-categories").json
    assert [c["name"] for c in categories] == ["平安建设", "环境卫生", "社会公益", "邻里关系", "家庭和睦", "孝老爱亲", "移风易俗"]
    seeded = [i for i in desk.supervisor.get("/api/v1/indicators").json if i["community_id"] == desk.community.id]
    defaults = [i for i in seeded if not i["code"].startswith("T")]  # tests' own indicators start with T
    assert len(defaults) >= 14
    assert {i["category"] for i in defaults} == {c["code"] for c in categories}
    assert any(i["points"] < 0 for i in defaults) and any(i["beneficiary"] == "household" for i in defaults)
    # Seeding again is a no-op: a community that has indicators keeps its own.
    assert desk.admin.post("/api/v1/indicators/defaults", {"community_id": desk.community.id}).json == []


def test_another_communitys_resident_is_answered_like_an_unknown_one(world, desk):
    made = indicator(desk)
    stranger = world.member(world.community(), name="王五")
    elsewhere = award(desk, desk.staff1, made["id"], member_id=stranger.id)
    unknown = award(desk, desk.staff1, made["id"], member_id=10**9)
    assert elsewhere.status_code == unknown.status_code == 404
    same = ("code", "message", "details")  # the request id differs, as it should
    assert {k: elsewhere.json["error"][k] for k in same} == {k: unknown.json["error"][k] for k in same}
    assert count(world, ConductAward) == 0 and transactions(world) == 0
