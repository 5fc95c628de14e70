"""The HTTP API under real concurrency on PostgreSQL: one test client per thread, same app."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from ledger.models import Transaction
from service import create_app
from service.extensions import db
from service.idempotency import IdempotentRequest
from tests.factories import Caller, World

THREADS = 16


@pytest.fixture
def pg_app(pg_url):
    app = create_app(
        {"DATABASE_URL": pg_url, "TESTING": True, "SECRET_KEY": "test-secret", "REDIS_URL": None}
    )
    yield app
    app.extensions["greencoin_db"][0].dispose()


def in_threads(count: int, send) -> list:
    barrier = threading.Barrier(count)
    responses: list = [None] * count

    def runner(index):
        barrier.wait()
        try:
            responses[index] = send(index)
        except Exception as exc:  # noqa: BLE001 - reported below
            responses[index] = exc

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return responses


def own_client(app, caller: Caller) -> Caller:
    return Caller(app.test_client(), caller.token, caller.id, caller.username)


def test_one_idempotency_key_sent_by_many_threads_posts_one_adjustment(pg_app):
    world = World(pg_app)
    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    key = uuid.uuid4().hex
    body = {"member_id": member.id, "unit": "COIN", "amount": 25, "reason": "并发重放"}

    responses = in_threads(
        THREADS, lambda i: own_client(pg_app, admin).post("/api/v1/adjustments", body, key=key)
    )

    assert Counter(getattr(r, "status_code", type(r).__name__) for r in responses) == {201: THREADS}
    assert len({r.json["id"] for r in responses}) == 1
    assert sorted(r.headers.get("Idempotent-Replayed", "false") for r in responses).count("false") == 1
    assert world.balance(member) == 25
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).where(Transaction.kind == "adjustment")) == 1
        assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 1
    assert world.invariants() == {}


def test_one_key_with_different_bodies_posts_once_and_conflicts_the_rest(pg_app):
    world = World(pg_app)
    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    key = uuid.uuid4().hex

    def send(index):
        body = {"member_id": member.id, "unit": "COIN", "amount": 10 + index % 2, "reason": "并发冲突"}
        return own_client(pg_app, admin).post("/api/v1/adjustments", body, key=key)

    responses = in_threads(THREADS, send)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: THREADS // 2, 409: THREADS // 2}, statuses
    assert {r.json["error"]["code"] for r in responses if r.status_code == 409} == {"idempotency_conflict"}
    assert world.balance(member) in (10, 11)
    assert world.invariants() == {}


def test_competing_debits_through_the_api_never_overdraw(pg_app):
    world = World(pg_app)
    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    world.credit(member, 100)
    body = {"member_id": member.id, "unit": "COIN", "amount": -9, "reason": "扣减"}

    responses = in_threads(2 * THREADS, lambda i: own_client(pg_app, admin).post("/api/v1/adjustments", body))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 100 // 9, 409: 2 * THREADS - 100 // 9}, statuses
    assert {r.json["error"]["code"] for r in responses if r.status_code == 409} == {"insufficient_balance"}
    assert world.balance(member) == 100 % 9
    assert world.invariants() == {}


def test_concurrent_reversals_of_one_adjustment_succeed_once(pg_app):
    world = World(pg_app)
    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    original = admin.post(
        "/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 30, "reason": "开户"}
    ).json["id"]

    responses = in_threads(
        THREADS,
        lambda i: own_client(pg_app, admin).post(
            f"/api/v1/transactions/{original}/reverse", {"reason": "撤销"}
        ),
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: THREADS - 1}, statuses
    assert {r.json["error"]["code"] for r in responses if r.status_code == 409} == {"already_reversed"}
    assert world.balance(member) == 0
    assert world.invariants() == {}
