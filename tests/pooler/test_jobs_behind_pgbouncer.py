"""The nightly jobs and a full reconciliation (three SQL passes in worker connections that import
the run's exported snapshot) through PgBouncer in transaction mode."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest
from sqlalchemy import select

import ledger
from ledger import Unit, verify_sql
from service.community.operations import issuance_account
from service.extensions import db
from service.jobs import reconciliation
from service.jobs.models import JobRun
from service.localtime import today as local_today
from service.members.operations import member_wallet
from workers import jobs, runtime, schedule

pytestmark = pytest.mark.postgres


@pytest.fixture
def jobs_app(pooled_app):
    runtime.install(pooled_app)
    yield pooled_app
    runtime.install(None)


def _book(shop, residents: int = 6) -> list:
    """Residents with coins and volunteer hours who each bought a few baskets: every statement of
    the money paths runs more often than psycopg's prepare threshold (5)."""
    shop.add_product("RICE", 3, 500)
    app = shop.world.app
    members = []
    for n in range(residents):
        member = shop.world.member(shop.community, name=f"居民{n}")
        shop.world.credit(member, 60)

        def hours(s, member=member):
            wallet = member_wallet(s, member, Unit.HOUR)
            source = issuance_account(s, member.community_id, Unit.HOUR)
            ledger.post(s, lines=[ledger.Line(wallet.id, 90), ledger.Line(source.id, -90)],
                        idempotency_key=f"pooler-hours:{uuid.uuid4().hex}", kind="volunteer_hours",
                        community_id=member.community_id)

        with app.app_context():
            db.run(hours)
        for _ in range(2):
            assert shop.basket(("RICE", 2), member=member).status_code == 201
        members.append(member)
    return members


def _run_full(app):
    engine, factory = app.extensions["greencoin_db"]
    return reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual")


def test_every_nightly_job_runs_and_the_book_reconciles(jobs_app, shop):
    _book(shop)
    assert jobs.seal_chain() > 0
    yesterday = local_today(jobs_app.config["TIMEZONE"]) - dt.timedelta(days=1)
    nightly = schedule.nightly()
    assert {item.name for item in nightly} >= {"coin_expiry", "star_tiers", "merkle_blocks", "reconciliation"}
    for item in nightly:
        item.func(business_date=yesterday.isoformat())
    assert jobs.reconcile_full(yesterday.isoformat())["status"] == "passed"
    with jobs_app.app_context(), db.factory() as s:
        runs = s.execute(select(JobRun.job, JobRun.status)).all()
    assert {job for job, _ in runs} >= {item.name for item in nightly}
    assert {status for _, status in runs} == {"succeeded"}, runs
    assert shop.world.invariants() == {}


def test_full_reconciliation_passes_read_the_exported_snapshot_through_the_pooler(
    pooled_app, shop, tamper, monkeypatch, caplog
):
    """The passes run in other client connections, so on other server connections; they import the
    snapshot the run exported while its transaction stays open: a balance edited after the export is
    not seen by that run, and the next run finds it."""
    members = _book(shop, residents=3)
    with pooled_app.app_context():
        db.run(ledger.seal)
        wallet = db.run(lambda s: member_wallet(s, members[0], Unit.COIN).id)
    gathered, ranges = [], verify_sql._ranges

    def edit_after_the_export(session, parts):
        if not gathered:
            tamper("UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :id", id=wallet)
        return ranges(session, parts)

    gather = verify_sql._gather

    def spy(session, transaction_passes, *args):
        gathered.append(sum(p["transactions"] for p in transaction_passes))
        return gather(session, transaction_passes, *args)

    monkeypatch.setattr(verify_sql, "_ranges", edit_after_the_export)
    monkeypatch.setattr(verify_sql, "_gather", spy)
    with caplog.at_level(logging.WARNING, logger="service.jobs.verification"):
        first = _run_full(pooled_app)
        second = _run_full(pooled_app)
    assert "full passes failed" not in caplog.text  # the passes ran, not the checks one by one
    assert len(gathered) == 2 and gathered[0] > 0
    assert first.status == "passed", [(d.check, d.subject) for d in first.discrepancies]
    assert second.status == "failed"
    assert {(d.check, d.subject) for d in second.discrepancies} == {("stored_balance", f"account:{wallet}")}
