"""The schedule runs both ways (a real rq worker on Redis, a thread in-process), a killed worker
leaves nothing half done, and Redis being down never stops the API from posting."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.cron import CronScheduler
from sqlalchemy import func, select

import ledger
from ledger.models import ChainLink
from service.jobs.models import JobRun, Reconciliation
from service.members.models import StarChange, VolunteerStar
from workers import inprocess, jobs
from workers.schedule import SCHEDULE, register_all

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _count(query, model, *where):
    return query(lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))


def _wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_in_process_schedule_seals_and_runs_every_nightly_job_without_redis(app, world, query):
    community = world.community()
    member = world.member(community)
    world.credit(member, 10)
    scheduler = inprocess.start(app)
    try:
        _wait_for(lambda: _count(query, Reconciliation) == 1, what="the catch-up reconciliation")
        _wait_for(lambda: _count(query, ChainLink) >= 1, what="sealing")
    finally:
        scheduler.stop()
    assert not scheduler.is_alive()
    done = query(lambda s: {r.job: r.status for r in s.scalars(select(JobRun))})
    assert done == {
        "system_checkpoints": "succeeded", "notice_period": "succeeded", "coin_expiry": "succeeded",
        "star_tiers": "succeeded", "disclosure": "succeeded", "fraud_scan": "succeeded",
        "reconciliation": "succeeded", "dispute_deadlines": "succeeded", "merkle_blocks": "succeeded",
        "price_changes": "succeeded",
        "reservation_lapse": "succeeded",
    }
    assert scheduler.runs["seal_chain"] >= 1 and scheduler.runs["reconciliation_full"] == 0


def test_embedded_catch_up_seals_before_it_reconciles(app, world, query):
    """After the process was down, what was committed meanwhile is sealed before the catch-up
    reconciliation looks at it, so that run neither fails nor warns."""
    member = world.member(world.community())
    with ledger.posting_time(ledger.utcnow() - dt.timedelta(minutes=5)):
        world.credit(member, 10)  # committed while the process was down
    scheduler = inprocess.start(app)
    try:
        _wait_for(lambda: _count(query, Reconciliation) == 1, what="the catch-up reconciliation")
    finally:
        scheduler.stop()
    record = query(lambda s: s.scalars(select(Reconciliation)).one())
    assert record.status == "passed" and "warnings" not in record.counts


def test_schedule_cron_strings_are_utc_for_two_in_the_morning_in_shanghai():
    nightly = {item.name: item.cron for item in SCHEDULE if item.cron}
    assert nightly["system_checkpoints"] == "0 18 * * *"  # 02:00 Asia/Shanghai
    assert nightly.pop("price_changes") == "0 16 * * *"  # 00:00 Asia/Shanghai: new prices from the new day
    assert all(cron.split()[1] in ("18", "19") for cron in nightly.values())
    assert next(item for item in SCHEDULE if item.name == "seal_chain").interval <= 60


def test_the_nightly_run_is_the_daily_part_of_the_one_schedule_in_its_order():
    from workers.schedule import nightly

    assert [item.name for item in nightly()] == [
        "price_changes", "system_checkpoints", "notice_period", "coin_expiry", "dispute_deadlines", "reservation_lapse",
        "star_tiers", "merkle_blocks",
        "disclosure", "fraud_scan", "reconciliation",
    ]  # not the 15-second sealer, not the weekly full reconciliation


@pytest.fixture
def rq_prefix(redis_url):
    """Queue and cron names of this test only; every key they leave behind is deleted after."""
    prefix = f"gc-test-{os.getpid()}-{uuid.uuid4().hex[:8]}-"
    connection = Redis.from_url(redis_url)
    job_ids: list[str] = []
    yield prefix, connection, job_ids
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
    for job_id in job_ids:
        for key in connection.scan_iter(f"rq:*{job_id}*"):
            connection.delete(key)


@pytest.mark.redis
def test_rq_cron_schedule_runs_on_a_real_rq_worker(app, world, query, database_url, redis_url, rq_prefix):
    prefix, connection, job_ids = rq_prefix
    member = world.member(world.community())
    world.credit(member, 10)
    cron = CronScheduler(connection=connection)
    register_all(cron.register, queue_prefix=prefix)
    enqueued = cron.enqueue_jobs()  # as under `rq cron`: interval jobs fire at start
    assert [job.name for job in enqueued] == [f"{prefix}seal_chain"]
    nightly = Queue(f"{prefix}nightly", connection=connection)
    job_ids += [nightly.enqueue(jobs.apply_star_tiers).id, nightly.enqueue(jobs.reconcile, "full").id]
    for job in enqueued:
        job_ids += job.get_job_ids(connection)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    worker = subprocess.run(
        [str(BIN / "rq"), "worker", "--burst", "--url", redis_url, f"{prefix}default", f"{prefix}nightly"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert _count(query, ChainLink) == 1
    assert _count(query, JobRun, JobRun.job == "star_tiers", JobRun.status == "succeeded") == 1
    record = query(lambda s: s.scalars(select(Reconciliation)).one())
    assert record.status == "passed" and record.mode == "full"


KILLABLE = textwrap.dedent(
    """
    import pathlib, sys, time
    from service.market import checks as market_checks
    from service.members import stars

    marker = pathlib.Path(sys.argv[1])

    def pause():
        marker.write_text("mid-run")
        time.sleep(600)

    if sys.argv[2] == "stars":
        original = stars.record_change
        calls = []

        def record_change(session, change):
            original(session, change)
            calls.append(change)
            if len(calls) == 2:  # two volunteers' changes are flushed, the third is not yet
                pause()

        stars.record_change = record_change
        from workers import jobs
        jobs.apply_star_tiers(sys.argv[3])
    else:
        original = market_checks.RECONCILIATION_CHECKS["stock"]

        def stock(session, **scope):
            pause()
            return original(session, **scope)

        market_checks.RECONCILIATION_CHECKS["stock"] = stock
        from workers import jobs
        jobs.reconcile("full", sys.argv[3])
    """
)


def _kill_mid_run(tmp_path, database_url, which, business_date):
    marker = tmp_path / f"{which}.marker"
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": ""}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(marker), which, business_date.isoformat()],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(lambda: marker.exists() or process.poll() is not None, timeout=90, what="the job to start")
        assert marker.exists(), process.stdout.read().decode()[-3000:]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    assert process.returncode == -signal.SIGKILL


def test_worker_killed_mid_star_run_leaves_nothing_and_the_rerun_is_right(
    jobs_app, world, query, post_hours, database_url, tmp_path, yesterday
):
    community = world.community()
    members = [world.member(community, name=f"志愿者{i}") for i in range(3)]
    for member, hours in zip(members, (100, 300, 650), strict=True):
        post_hours(member, hours * 60)
    _kill_mid_run(tmp_path, database_url, "stars", yesterday)
    assert _count(query, StarChange) == 0 and _count(query, VolunteerStar) == 0
    assert _count(query, JobRun) == 0
    assert jobs.apply_star_tiers(yesterday.isoformat())[0]["counts"] == {"volunteers": 3, "raised": 3, "lowered": 0}
    stars = query(lambda s: sorted((v.member_id, v.star) for v in s.scalars(select(VolunteerStar))))
    assert stars == [(members[0].id, 1), (members[1].id, 2), (members[2].id, 3)]
    assert _count(query, StarChange) == 3


def test_worker_killed_mid_reconciliation_stores_nothing_and_the_rerun_is_right(
    jobs_app, world, query, database_url, tmp_path, yesterday
):
    member = world.member(world.community())
    world.credit(member, 10)
    jobs.seal_chain()
    _kill_mid_run(tmp_path, database_url, "reconciliation", yesterday)
    assert _count(query, Reconciliation) == 0 and _count(query, JobRun) == 0
    result = jobs.reconcile("full", yesterday.isoformat())
    assert result["status"] == "passed" and result["discrepancies"] == 0
    assert jobs.reconcile("full", yesterday.isoformat()) is None  # that date is done


def test_redis_down_never_stops_the_api_from_posting(database_url):
    from service import create_app
    from tests.factories import World

    app = create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret", "REDIS_URL": "redis://127.0.0.1:9/0"}
    )
    try:
        world = World(app)
        community = world.community()
        admin = world.admin(community)
        member = world.member(community)
        response = admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 7, "reason": "迁移"})
        assert response.status_code == 201, response.json
        assert world.balance(member) == 7
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["queue"]["ok"] is False
    finally:
        app.extensions["greencoin_db"][0].dispose()


def test_sealing_job_seals_every_committed_transaction(jobs_app, world, query):
    member = world.member(world.community())
    for amount in (1, 2, 3):
        world.credit(member, amount)
    assert jobs.seal_chain() == 3
    assert jobs.seal_chain() == 0
    assert query(lambda s: ledger.chain_head(s).seq) == 3
