"""Races on PostgreSQL with real threads: approvals, overlapping records, deductions, budgets."""

import datetime as dt
import threading
from dataclasses import replace

import pytest

from service import create_app
from service.conduct.models import ConductAward
from tests.factories import World

from .support import at, build_desk, record_body, transactions

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_world(pg_url):
    app = create_app({"DATABASE_URL": pg_url, "TESTING": True, "SECRET_KEY": "test-secret", "REDIS_URL": None})
    yield World(app)
    app.extensions["greencoin_db"][0].dispose()


def race(world, calls):
    """Run (caller, method, path, json) at once, each on its own client; return the responses."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def go(index, caller, path, body):
        mine = replace(caller, client=world.app.test_client())
        barrier.wait()
        results[index] = mine.post(path, body)

    threads = [threading.Thread(target=go, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_staff_approving_the_same_record_at_once_post_it_exactly_once(pg_world):
    desk = build_desk(pg_world)
    approvers = [desk.staff2, desk.admin] + [
        pg_world.staff("station_staff", community=desk.community, station=desk.station) for _ in range(6)
    ]
    record = desk.staff1.post("/api/v1/service-records", record_body(desk, at(2, 1), at(2, 3))).json
    responses = race(pg_world, [(c, f"/api/v1/service-records/{record['id']}/approve", None) for c in approvers])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 7, [r.json for r in responses]
    assert transactions(pg_world, "volunteer_hours") == 1
    assert pg_world.balance(desk.member) == 20
    assert pg_world.invariants() == {}


def test_overlapping_records_approved_at_once_never_both_count(pg_world):
    desk = build_desk(pg_world)
    ids = [
        desk.staff1.post("/api/v1/service-records", record_body(desk, at(2, 1, m), at(2, 3, m))).json["id"]
        for m in (0, 10, 20, 30)
    ]
    responses = race(pg_world, [(desk.staff2, f"/api/v1/service-records/{i}/approve", None) for i in ids])
    assert sorted(r.status_code for r in responses) == [200, 422, 422, 422]
    assert transactions(pg_world, "volunteer_hours") == 1
    assert pg_world.invariants() == {}


def test_concurrent_deductions_never_take_a_wallet_below_zero(pg_world):
    desk = build_desk(pg_world)
    made = desk.admin.post("/api/v1/indicators", {
        "community_id": desk.community.id, "code": "D", "name": "乱倒垃圾", "category": "environment", "points": -10,
    }).json
    pg_world.credit(desk.member, 35)
    body = {"indicator_id": made["id"], "member_id": desk.member.id, "note": "巡查发现"}
    responses = race(pg_world, [(desk.staff2, "/api/v1/conduct-awards", body)] * 8)
    assert [r.status_code for r in responses] == [201] * 8, [r.json for r in responses]
    assert pg_world.balance(desk.member) == 0
    taken = sum(-r.json["amount_posted"] for r in responses)
    shortfall = sum(r.json["shortfall"] for r in responses)
    assert (taken, shortfall) == (35, 45)
    assert pg_world.invariants() == {}


def test_awards_racing_for_the_last_of_a_budget_never_exceed_it(pg_world):
    desk = build_desk(pg_world)
    today = dt.date.today()
    desk.admin.post("/api/v1/issuance-budgets", {
        "community_id": desk.community.id, "period_start": (today - dt.timedelta(days=5)).isoformat(),
        "period_end": (today + dt.timedelta(days=5)).isoformat(), "coins": 50,
    })
    made = desk.admin.post("/api/v1/indicators", {
        "community_id": desk.community.id, "code": "B", "name": "爱心捐赠", "category": "public_welfare", "points": 10,
    }).json
    members = [pg_world.member(desk.community, name=f"居民{i}") for i in range(10)]
    calls = [
        (desk.staff2, "/api/v1/conduct-awards", {"indicator_id": made["id"], "member_id": m.id, "note": "捐赠"})
        for m in members
    ]
    responses = race(pg_world, calls)
    assert sorted(r.status_code for r in responses) == [201] * 5 + [409] * 5
    assert {r.json["error"]["code"] for r in responses if r.status_code == 409} == {"issuance_budget_exceeded"}
    with pg_world.app.app_context():
        from sqlalchemy import func, select

        from service.extensions import db

        assert db.session.scalar(select(func.sum(ConductAward.points))) == 50
    assert pg_world.invariants() == {}
