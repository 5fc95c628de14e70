"""A helper (代办) acts for an elderly resident within their grant; both people are recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import ledger
from ledger import Unit
from service.audit.models import AuditEvent
from service.extensions import db
from service.proxies.models import HelperAction


@pytest.fixture
def family(world):
    community = world.community()
    station = world.station(community)
    elder = world.member(community, name="李奶奶")
    helper = world.member(community, name="李明")
    grandson = world.member(community, name="李小宝")
    world.credit(elder, 120, Unit.HOUR)
    world.credit(elder, 80)
    return {
        "world": world, "community": community, "elder": elder, "helper": helper, "grandson": grandson,
        "elder_api": world.resident(elder), "helper_api": world.resident(helper),
        "desk": world.staff("station_staff", community=community, station=station),
    }


def _grant(family, by="elder_api", **extra):
    body = {"elder_member_id": family["elder"].id, "helper": family["helper"].volunteer_number, "relation": "child",
            **extra}
    return family[by].post("/api/v1/helper-grants", json=body)


def _give(caller, family, minutes=30):
    return caller.post("/api/v1/hour-transfers", json={
        "from_member_id": family["elder"].id, "to_member_id": family["grandson"].id, "minutes": minutes,
        "relation": "grandchild",
    })


def test_an_elder_names_a_helper_who_sees_only_coins_and_hours(family):
    granted = _grant(family)
    assert granted.status_code == 201, granted.json
    acting = family["helper_api"].get("/api/v1/acting-for").json
    assert acting == [{
        "grant_id": granted.json["id"], "elder_member_id": family["elder"].id, "elder_name": "李*奶",
        "relation": "child", "coins": 80, "hours_minutes": 120, "monthly_coin_cap": 500,
        "coins_left_this_month": 500,
    }]
    # nothing else of the elder's: not their record, statement or balance endpoint
    elder_id = family["elder"].id
    for path in (f"/api/v1/members/{elder_id}", f"/api/v1/members/{elder_id}/statement",
                 f"/api/v1/members/{elder_id}/statement-proof"):
        assert family["helper_api"].get(path).status_code == 404, path


def test_a_helper_of_several_elders_sees_them_all_in_a_fixed_number_of_reads(family):
    """The elders, their wallets, the caps and this month's spending are read for all of a helper's
    grants at once (it was about seven statements more per elder)."""
    world = family["world"]

    def acting_for():
        response, sent = world.statements_of(lambda: family["helper_api"].get("/api/v1/acting-for"))
        assert response.status_code == 200, response.json
        return response.json, sent

    assert _grant(family).status_code == 201
    _acting, few = acting_for()
    for name, coins in (("王爷爷", 30), ("张奶奶", 0)):
        elder = world.member(family["community"], name=name)
        if coins:
            world.credit(elder, coins)
        made = world.resident(elder).post("/api/v1/helper-grants", json={
            "elder_member_id": elder.id, "helper": family["helper"].volunteer_number, "relation": "grid_worker",
            "monthly_coin_cap": 100,
        })
        assert made.status_code == 201, made.json
    acting, many = acting_for()
    assert [(a["coins"], a["hours_minutes"], a["monthly_coin_cap"], a["coins_left_this_month"]) for a in acting] == [
        (80, 120, 500, 500), (30, 0, 100, 100), (0, 0, 100, 100),
    ]
    assert many == few


def test_a_helper_gives_the_elders_hours_and_both_people_are_recorded(app, family):
    _grant(family)
    given = _give(family["helper_api"], family)
    assert given.status_code == 201, given.json
    assert given.json["created_by_member_id"] == family["helper"].id
    world = family["world"]
    assert world.balance(family["elder"], Unit.HOUR) == 90 and world.balance(family["grandson"], Unit.HOUR) == 30
    with app.app_context():
        tx = db.session.get(ledger.Transaction, db.session.scalars(select(HelperAction.transaction_id)).one())
        assert tx.details["acted_by_member_id"] == family["helper"].id
    assert world.invariants() == {}


def test_someone_who_is_not_a_helper_cannot_act(family):
    assert _give(family["helper_api"], family).status_code == 403
    assert family["world"].balance(family["elder"], Unit.HOUR) == 120


def test_revoking_stops_the_helper_at_once_and_is_audit_logged(app, family):
    grant = _grant(family).json
    revoked = family["desk"].post(f"/api/v1/helper-grants/{grant['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert _give(family["helper_api"], family).status_code == 403
    assert family["helper_api"].get("/api/v1/acting-for").json == []
    assert family["elder_api"].get(f"/api/v1/members/{family['elder'].id}/helpers").json[0]["revoked_at"]
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["helper.grant", "helper.revoke"]


def test_only_the_elder_or_the_desk_names_helpers(family):
    other = family["world"].resident(family["grandson"])
    body = {"elder_member_id": family["elder"].id, "helper": family["grandson"].volunteer_number, "relation": "child"}
    assert other.post("/api/v1/helper-grants", json=body).status_code == 404
    assert _grant(family, by="desk").status_code == 201
    assert _grant(family, by="desk").json["error"]["code"] == "helper_exists"


def test_bad_grants_are_refused_with_a_4xx(family):
    for extra in ({"relation": "friend"}, {"helper": "NOPE"}, {"monthly_coin_cap": -1}, {"helper": ""}):
        response = _grant(family, **extra)
        assert 400 <= response.status_code < 500, (extra, response.json)
    self_help = family["elder_api"].post("/api/v1/helper-grants", json={
        "elder_member_id": family["elder"].id, "helper": family["elder"].volunteer_number, "relation": "child"})
    assert self_help.json["error"]["code"] == "helper_is_elder"
