"""An incremental reconciliation reads the day, not the book.

At city size (21.8 M entries) the incremental run of one day (58,640 entries) took 38 s: its checks
each read the whole book (an ``OR`` no index answers, sums of every entry of the issuance accounts a
day touches, a hash of every account, an anti-join of every transaction with its link). Timing it
in a test would be noise, so this counts rows instead: every statement the run sends is replayed
under ``EXPLAIN ANALYZE`` and the rows each scan of a ledger table read are added up. The planner is
told not to scan whole tables (``enable_seqscan = off``), as it would not on a city-size book;
where no index can answer a query, it scans anyway and the rows show it.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

import ledger
from ledger import bulk
from service.jobs import reconciliation, verification
from tests.ledger.conftest import key, open_book

LEDGER_TABLES = {"ledger_entries", "ledger_transactions", "ledger_accounts", "ledger_chain_links",
                 "ledger_balance_checkpoints", "ledger_merkle_blocks"}


@pytest.fixture
def handles(pg_url):
    engine = ledger.make_engine(pg_url)
    yield engine, ledger.make_session_factory(engine)
    engine.dispose()


def _post(factory, book, postings) -> None:
    def work(session):
        bulk.post_groups(session, [[ledger.bulk.Posting(lines=lines, idempotency_key=key(), kind=kind,
                                                        community_id=book.community_id)]
                                   for kind, lines in postings])
        ledger.seal(session)

    ledger.run_in_transaction(factory, work)


def _award(book, wallet, amount):
    return "award", [ledger.Line(wallet, amount), ledger.Line(book.issuance, -amount)]


def _basket(book, wallet, amount):
    return "redemption", [ledger.Line(wallet, -amount), ledger.Line(book.till, amount)]


def _rows_read(plan: dict) -> int:
    """Rows the scans of ledger tables in ``plan`` (EXPLAIN ANALYZE, JSON) read, loops included."""
    rows = 0
    if plan.get("Relation Name") in LEDGER_TABLES:
        rows += (plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
                 + plan.get("Rows Removed by Index Recheck", 0)) * plan["Actual Loops"]
    return rows + sum(_rows_read(child) for child in plan.get("Plans", ()))


@contextmanager
def statements_of_the_run(engine, sent: list):
    """Record every statement the reconciliation's snapshot session sends."""

    def record(_conn, _cursor, statement, parameters, _context, _many):
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _replayed_rows(engine, sent) -> dict[str, int]:
    """Each SELECT replayed under EXPLAIN ANALYZE on one snapshot: rows read per statement."""
    read = {}
    with engine.connect() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, parameters in sent:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")) or "pg_" in statement:
                continue
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar()[0]["Plan"]
            read[statement] = read.get(statement, 0) + _rows_read(plan)
        connection.rollback()
    return read


def test_an_incremental_run_reads_the_day_not_the_book(handles):
    engine, factory = handles
    book = open_book(factory, wallets=40)
    # The book, written the days before: every wallet 30 awards, then 400 baskets into the till (an
    # untracked account).
    with ledger.posting_time(ledger.utcnow() - dt.timedelta(days=2)):
        _post(factory, book, [_award(book, wallet, 10) for _ in range(30) for wallet in book.wallets])
        _post(factory, book, [_basket(book, book.wallets[i % 40], 3) for i in range(400)])
    with factory() as session:
        book_entries = session.scalar(text("SELECT count(*) FROM ledger_entries"))
    ledger.run_in_transaction(factory, lambda s: ledger.checkpoint_system_accounts(s))  # as each night
    assert reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual").status == "passed"
    # The day: one wallet earns twice and spends once.
    day = [_award(book, book.wallets[7], 5), _award(book, book.wallets[7], 5), _basket(book, book.wallets[7], 4)]
    _post(factory, book, day)

    sent: list = []
    with statements_of_the_run(engine, sent):
        record = reconciliation.run_reconciliation(factory, engine, mode="incremental", trigger="manual")
    assert (record.status, record.mode, record.counts["entries"]) == ("passed", "incremental", 6)
    read = _replayed_rows(engine, sent)
    # What the day touched: its 6 entries and 3 transactions, one wallet's 41 entries, the till's
    # one entry since its checkpoint, a few account and checkpoint rows; each read by a few checks.
    assert book_entries > 3_000
    assert sum(read.values()) < 600, [(rows, statement[:300]) for statement, rows in read.items() if rows > 50]


def test_the_day_is_still_checked(handles, tamper_pg):
    """Reading less finds the same: a new entry edited, and a till driven below zero by entries."""
    engine, factory = handles
    book = open_book(factory, wallets=2)
    a, b = book.wallets
    _post(factory, book, [_award(book, a, 50), _award(book, b, 50), _basket(book, a, 20)])
    ledger.run_in_transaction(factory, lambda s: ledger.checkpoint_system_accounts(s))
    assert reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual").status == "passed"
    _post(factory, book, [_basket(book, b, 30)])
    tamper_pg("UPDATE ledger_entries SET amount = -60 WHERE account_id = :t AND id = "
              "(SELECT max(id) FROM ledger_entries WHERE account_id = :t)", t=book.till)
    record = reconciliation.run_reconciliation(factory, engine, mode="incremental", trigger="manual")
    assert record.mode == "incremental"
    found = {(d.check, d.subject) for d in record.discrepancies}
    assert ("negative_entries_sum", f"account:{book.till}") in found  # checkpoint 20, then -60
    assert "transaction_sum" in {check for check, _subject in found}


@pytest.fixture
def tamper_pg(pg_url):
    def run(sql: str, **params) -> None:
        engine = ledger.make_engine(pg_url)
        with engine.begin() as connection:
            connection.execute(text("SET session_replication_role = replica"))
            connection.execute(text(sql), params)
        engine.dispose()

    return run


def test_unsealed_transactions_are_counted_from_the_day(handles, monkeypatch):
    """A transaction the sealer missed is still found late by an incremental run, the day after."""
    engine, factory = handles
    book = open_book(factory, wallets=1)
    _post(factory, book, [_award(book, book.wallets[0], 5)])
    assert reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual").status == "passed"
    ledger.run_in_transaction(factory, lambda s: bulk.post_groups(s, [[bulk.Posting(
        lines=_award(book, book.wallets[0], 1)[1], idempotency_key=key(), kind="award",
        community_id=book.community_id)]]))  # not sealed
    later = ledger.utcnow() + verification.chain.SEAL_PROMISE * 2
    monkeypatch.setattr(verification, "utcnow", lambda: later)
    record = reconciliation.run_reconciliation(factory, engine, mode="incremental", trigger="manual")
    assert record.mode == "incremental" and record.counts["warnings"] == {"late_to_seal": 1}
