"""A reconciliation started from the office is queued and answered at once (202); a worker (a thread
of the web process when there is no Redis, an rq worker with Redis) carries it out and reports
progress on the run the office polls; the rest of the service keeps posting meanwhile."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

import ledger
from service import create_app
from service.jobs import verification
from service.market import checks as market_checks
from tests.factories import World
from workers import jobs

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def _poll(caller, run_id: int, until=("succeeded", "failed"), timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = caller.get(f"/api/v1/job-runs/{run_id}").json
        if body["status"] in until:
            return body
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {until}: {body}")


@pytest.fixture
def paused_check(monkeypatch):
    """Hold the reconciliation in its stock step until the test releases it."""
    reached, release = threading.Event(), threading.Event()
    original = market_checks.RECONCILIATION_CHECKS["stock"]

    def stock(session, **scope):
        reached.set()
        release.wait(60)
        return original(session, **scope)

    monkeypatch.setitem(market_checks.RECONCILIATION_CHECKS, "stock", stock)
    yield reached, release
    release.set()


def _sealed_book(app, world):
    community = world.community()
    member = world.member(community)
    world.credit(member, 40)
    with app.app_context():
        ledger.run_in_transaction(app.extensions["greencoin_db"][1], ledger.seal)
    return community, member


def test_a_requested_reconciliation_answers_at_once_and_reports_progress_while_others_post(app, world, paused_check):
    reached, release = paused_check
    community, member = _sealed_book(app, world)
    city_admin, community_admin = world.admin(), world.admin(community)
    started = time.monotonic()
    response = city_admin.post("/api/v1/reconciliations", {"mode": "full"})
    assert response.status_code == 202, response.json
    assert time.monotonic() - started < 5
    run = response.json
    assert run["status"] in ("queued", "running") and run["job"] == "reconciliation_full"
    assert run["params"] == {"mode": "full"} and run["requested_by"] == city_admin.id
    assert response.headers["Location"].endswith(f"/api/v1/job-runs/{run['id']}")

    assert reached.wait(30), "the worker never reached the stock step"
    running = city_admin.get(f"/api/v1/job-runs/{run['id']}").json
    assert running["status"] == "running"
    assert running["progress"] == {"step": "stock", "done": verification.steps().index("stock"),
                                   "total": len(verification.steps())}
    # Meanwhile the office goes on posting, and asking again returns the same unfinished run.
    posted = community_admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 5, "reason": "补发"})
    assert posted.status_code == 201, posted.json
    again = city_admin.post("/api/v1/reconciliations", {"mode": "full"})
    assert again.status_code == 202 and again.json["id"] == run["id"]

    release.set()
    done = _poll(city_admin, run["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"]["done"] == done["progress"]["total"] == len(verification.steps())
    record = city_admin.get(f"/api/v1/reconciliations/{done['counts']['reconciliation_id']}").json
    assert record["status"] == "passed" and record["mode"] == "full" and record["trigger"] == "manual"
    assert world.balance(member) == 45


def test_a_requested_run_that_breaks_is_recorded_as_failed(app, world, monkeypatch):
    _sealed_book(app, world)

    def broken(session, **scope):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(market_checks.RECONCILIATION_CHECKS, "stock", broken)
    city_admin = world.admin()
    run = city_admin.post("/api/v1/reconciliations", {"mode": "incremental"})
    assert run.status_code == 202 and run.json["job"] == "reconciliation"
    failed = _poll(city_admin, run.json["id"])
    assert failed["status"] == "failed" and "disk on fire" in failed["error"]
    assert city_admin.get("/api/v1/reconciliations").json == []


def test_only_a_city_wide_administrator_starts_one_and_a_run_is_carried_out_once(app, world):
    community = world.community()
    for caller in (world.admin(community), world.staff("supervisor", community=community)):
        assert caller.post("/api/v1/reconciliations", {}).status_code == 403
    assert world.admin().post("/api/v1/reconciliations", {"mode": "sometimes"}).status_code == 422
    city_admin = world.admin()
    assert city_admin.get("/api/v1/job-runs/999999").status_code == 404
    run = city_admin.post("/api/v1/reconciliations", {}).json
    assert _poll(city_admin, run["id"])["status"] == "succeeded"
    assert jobs.run_requested(run["id"], app=app) is None  # delivered twice: nothing runs again
    assert len(city_admin.get("/api/v1/reconciliations").json) == 1


@pytest.mark.redis
def test_with_redis_the_run_waits_on_the_queue_for_an_rq_worker(database_url, redis_url):
    prefix = f"gc-test-{os.getpid()}-{uuid.uuid4().hex[:8]}-"
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret",
                      "REDIS_URL": redis_url, "JOB_QUEUE_PREFIX": prefix})
    connection = Redis.from_url(redis_url)
    job_ids: list[str] = []
    try:
        world = World(app)
        _sealed_book(app, world)
        city_admin = world.admin()
        run = city_admin.post("/api/v1/reconciliations", {"mode": "full"})
        assert run.status_code == 202, run.json
        time.sleep(0.5)
        job_ids = Queue(f"{prefix}default", connection=connection).job_ids
        assert len(job_ids) == 1
        assert city_admin.get(f"/api/v1/job-runs/{run.json['id']}").json["status"] == "queued"  # no thread ran it
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        worker = subprocess.run(
            [str(BIN / "rq"), "worker", "--burst", "--url", redis_url, f"{prefix}default"],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
        )
        assert worker.returncode == 0, worker.stderr[-3000:]
        done = city_admin.get(f"/api/v1/job-runs/{run.json['id']}").json
        assert done["status"] == "succeeded", done
        assert city_admin.get(f"/api/v1/reconciliations/{done['counts']['reconciliation_id']}").json["status"] == "passed"
    finally:
        for pattern in [f"*{prefix}*"] + [f"rq:*{job_id}*" for job_id in job_ids]:
            for key in connection.scan_iter(pattern):
                connection.delete(key)
        app.extensions["greencoin_db"][0].dispose()
