"""A transaction that stays open and commits late with lower ids is never left out: not by the
balance checkpoints of system accounts, not by the incremental reconciliation's watermarks
(real threads on PostgreSQL; SQLite serialises writers, so nothing can commit below its ids)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select, text

import ledger
from ledger import Entry, Unit
from service.community.operations import issuance_account
from service.jobs import reconciliation
from service.members.operations import member_wallet
from workers import jobs

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
LONG_AGO = dt.timedelta(minutes=11)  # older than any settle window by the clock


class OpenPosting(threading.Thread):
    """Posts ``amount`` coins to the member from issuance and keeps the transaction open until
    ``release`` is set (a slow request); ``corrupt`` also edits its own entry before committing."""

    def __init__(self, app, member, amount: int, *, corrupt: bool = False):
        super().__init__(daemon=True)
        self.app, self.member, self.amount, self.corrupt = app, member, amount, corrupt
        self.posted, self.release = threading.Event(), threading.Event()
        self.error: BaseException | None = None

    def run(self):
        _, factory = self.app.extensions["greencoin_db"]
        try:
            with factory() as s, ledger.posting_time(ledger.utcnow() - LONG_AGO):
                wallet = member_wallet(s, self.member, Unit.COIN).id
                source = issuance_account(s, self.member.community_id, Unit.COIN).id
                posted = ledger.post(
                    s, lines=[ledger.Line(wallet, self.amount), ledger.Line(source, -self.amount)],
                    idempotency_key=f"slow:{uuid.uuid4().hex}", kind="opening_balance",
                    community_id=self.member.community_id,
                )
                if self.corrupt:
                    s.execute(text("SET LOCAL session_replication_role = replica"))
                    s.execute(
                        text("UPDATE ledger_entries SET amount = amount + 5 WHERE transaction_id = :t AND amount > 0"),
                        {"t": posted.transaction_id},
                    )
                self.posted.set()
                self.release.wait(30)
                s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            self.posted.set()


def _in_thread(fn) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _late_commit_around(app, member, neighbour, job, *, corrupt: bool = False):
    """Open a posting, commit a later one, start ``job`` and let the open posting commit while it runs."""
    slow = OpenPosting(app, member, 70, corrupt=corrupt)
    slow.start()
    assert slow.posted.wait(10) and slow.error is None
    world_credit(app, neighbour, 30)  # higher ids, committed first
    ledger.run_in_transaction(app.extensions["greencoin_db"][1], ledger.seal)  # on time, no alarm
    thread, result = _in_thread(job)
    time.sleep(0.5)
    slow.release.set()
    slow.join(10)
    thread.join(60)
    assert slow.error is None and "error" not in result, result
    return result["value"]


def world_credit(app, member, amount: int) -> None:
    _, factory = app.extensions["greencoin_db"]

    def work(s):
        wallet = member_wallet(s, member, Unit.COIN).id
        source = issuance_account(s, member.community_id, Unit.COIN).id
        ledger.post(
            s, lines=[ledger.Line(wallet, amount), ledger.Line(source, -amount)],
            idempotency_key=f"quick:{uuid.uuid4().hex}", kind="opening_balance", community_id=member.community_id,
        )

    with ledger.posting_time(ledger.utcnow() - LONG_AGO):
        ledger.run_in_transaction(factory, work)


def test_a_checkpoint_never_misses_a_transaction_that_commits_late_with_lower_ids(jobs_app, world, query):
    community = world.community()
    member = world.member(community)
    _late_commit_around(jobs_app, member, world.member(community), jobs.checkpoint_system_accounts)

    def issuance(s):
        account = issuance_account(s, member.community_id, Unit.COIN).id
        return ledger.balance(s, account), s.scalar(select(func.sum(Entry.amount)).where(Entry.account_id == account))

    assert query(issuance) == (-100, -100)
    assert world.invariants() == {}


def test_the_incremental_watermark_never_passes_over_a_transaction_that_commits_late(jobs_app, world):
    community = world.community()
    member, neighbour = world.member(community), world.member(community)
    engine, factory = jobs_app.extensions["greencoin_db"]

    def reconcile():
        return reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual")

    first = _late_commit_around(jobs_app, member, neighbour, reconcile, corrupt=True)
    ledger.run_in_transaction(factory, ledger.seal)
    second = reconciliation.run_reconciliation(factory, engine, mode="incremental", trigger="manual")
    found = {d.check for d in first.discrepancies} | {d.check for d in second.discrepancies}
    assert {"transaction_sum", "stored_balance"} <= found
