"""The full check in three passes on PostgreSQL (ledger/verify_sql.py) finds exactly what the checks
one by one find, for every kind of edit made straight into the tables, and reads only the
snapshot of the session that started it."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import ledger
from ledger import chain, chain_sql, verify, verify_sql
from tests.conftest import PG_ADMIN_DSN, PG_HOST

from .conftest import award, key, open_book, transfer
from .plans import entries_read_in_line_order

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # every transaction counts as late to seal


@pytest.fixture
def book(database_url, monkeypatch):
    # A small chain checked the way a big one is, so both sides use the database's hashing.
    monkeypatch.setattr(chain_sql, "MIN_LINKS", 0)
    engine = ledger.make_engine(database_url, poolclass=NullPool)
    factory = ledger.make_session_factory(engine)
    accounts = open_book(factory)
    for n, wallet in enumerate(accounts.wallets):
        award(factory, accounts, wallet, 40 + n)
    transfer(factory, accounts, accounts.wallets[0], accounts.wallets[1], 15)
    transfer(factory, accounts, accounts.wallets[2], accounts.till, 7)
    ledger.run_in_transaction(
        factory,
        lambda s: ledger.post(
            s, lines=[ledger.Line(accounts.hour_wallet, 90), ledger.Line(accounts.hour_issuance, -90)],
            idempotency_key=key(), kind="hours", community_id=accounts.community_id,
            details={"description": "王小明 关爱老人 1.5 小时", "minutes": 90},
        ),
    )
    ledger.run_in_transaction(factory, ledger.seal)
    ledger.run_in_transaction(factory, ledger.checkpoint_system_accounts)
    award(factory, accounts, accounts.wallets[3], 5)  # one transaction left unsealed
    yield engine, accounts
    engine.dispose()


def _tamper(engine, sql: str, **params) -> None:
    with engine.begin() as connection:
        connection.execute(text("SET session_replication_role = replica"))
        connection.execute(text(sql), params)


@contextmanager
def _snapshot(engine):
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with Session(bind=connection) as session:
            session.execute(text("SELECT 1"))
            yield session


def _one_by_one(session) -> dict[str, Counter]:
    checks = {
        "stored_balances": verify.stored_balances(session),
        "transactions_balanced": verify.transactions_balanced(session),
        "units_balanced": verify.units_balanced(session),
        "no_negative_wallets": verify.no_negative_wallets(session),
        "checkpoints": verify.checkpoints_valid(session),
        "chain_valid": verify.chain_valid(session, sealed_within=None),
    }
    return {name: Counter(found) for name, found in checks.items()}


def _in_passes(session, **kwargs) -> verify_sql.FullCheck:
    with verify_sql.full_check(session, late_before=LATER, **kwargs) as finish:
        return finish()


FIRST_WALLET_ENTRY = "(SELECT min(id) FROM ledger_entries WHERE account_id = :wallet)"
TRANSACTION_OF_LINK_2 = "(SELECT transaction_id FROM ledger_chain_links WHERE seq = 2)"

EDITS = {
    "entry amount": [f"UPDATE ledger_entries SET amount = amount + 5 WHERE id = {FIRST_WALLET_ENTRY}"],
    "deleted entry": [f"DELETE FROM ledger_entries WHERE id = {FIRST_WALLET_ENTRY}"],
    "stored balance and version": ["UPDATE ledger_accounts SET balance = balance + 100, version = version + 1 WHERE id = :wallet"],
    "negative wallet": ["UPDATE ledger_entries SET amount = -7 WHERE account_id = :wallet"],
    "entry in the other unit": [f"UPDATE ledger_entries SET unit = 'HOUR' WHERE id = {FIRST_WALLET_ENTRY}"],
    "entry in an unknown unit": [f"UPDATE ledger_entries SET unit = 'XYZ' WHERE id = {FIRST_WALLET_ENTRY}"],
    "deleted account": ["DELETE FROM ledger_accounts WHERE id = :wallet"],
    "every entry of an account in the other unit": ["UPDATE ledger_entries SET unit = 'HOUR' WHERE account_id = :wallet"],
    "memo": ["UPDATE ledger_transactions SET memo = 'changed' WHERE id = (SELECT min(id) FROM ledger_transactions)"],
    "details, another value": [f"UPDATE ledger_transactions SET details = '{{\"x\": 1}}' WHERE id = {TRANSACTION_OF_LINK_2}"],
    "link hash": ["UPDATE ledger_chain_links SET chain_hash = repeat('a', 64) WHERE seq = 2"],
    "previous hash": ["UPDATE ledger_chain_links SET prev_hash = repeat('b', 64) WHERE seq = 3"],
    "deleted link": ["DELETE FROM ledger_chain_links WHERE seq = 2"],
    "deleted transaction": [f"DELETE FROM ledger_transactions WHERE id = {TRANSACTION_OF_LINK_2}"],
    "deleted transaction and one of its entries": [
        f"DELETE FROM ledger_entries WHERE id = (SELECT min(id) FROM ledger_entries WHERE transaction_id = {TRANSACTION_OF_LINK_2})",
        f"DELETE FROM ledger_transactions WHERE id = {TRANSACTION_OF_LINK_2}",
    ],
    "checkpoint": ["UPDATE ledger_balance_checkpoints SET balance = balance + 1 WHERE id = (SELECT min(id) FROM ledger_balance_checkpoints)"],
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_the_passes_find_what_the_checks_one_by_one_find(book, edit):
    engine, accounts = book
    for sql in EDITS[edit]:
        _tamper(engine, sql, wallet=accounts.wallets[0])
    with _snapshot(engine) as s:
        expected = _one_by_one(s)
        found = _in_passes(s, workers=2)
    assert any(expected.values()), "the edit must be found at all"
    assert {name: Counter(items) for name, items in found.checks.items()} == expected


def test_a_sound_book_passes_with_its_counts_and_lateness(book):
    engine, _ = book
    with _snapshot(engine) as s:
        assert not any(_one_by_one(s).values())
        found = _in_passes(s, workers=3)
        assert not any(found.checks.values())
        assert found.counts == {
            "accounts": s.scalar(text("SELECT count(*) FROM ledger_accounts")),
            "entries": s.scalar(text("SELECT count(*) FROM ledger_entries")),
            "transactions": s.scalar(text("SELECT count(*) FROM ledger_transactions")),
            "chain_links": s.scalar(text("SELECT count(*) FROM ledger_chain_links")),
        }
        assert found.late_to_seal == chain.unsealed_count(s, older_than=LATER) == 1
        with verify_sql.full_check(s, late_before=LATER - dt.timedelta(days=2)) as finish:
            assert finish().late_to_seal == 0


def test_details_stored_as_other_text_of_the_same_value_are_no_discrepancy(book):
    engine, _ = book
    _tamper(engine, "UPDATE ledger_transactions SET details = '{ \"minutes\" : 90, \"description\": \"王小明 关爱老人 1.5 小时\" }'"
                    " WHERE kind = 'hours'")
    with _snapshot(engine) as s:
        assert not any(_in_passes(s).checks.values())


def test_the_passes_read_the_snapshot_of_the_session_that_started_them(book):
    engine, accounts = book
    with _snapshot(engine) as s:
        # Committed after the snapshot: the passes must not see it.
        _tamper(engine, "UPDATE ledger_accounts SET balance = balance + 100 WHERE id = :wallet", wallet=accounts.wallets[0])
        _tamper(engine, "UPDATE ledger_chain_links SET chain_hash = repeat('a', 64) WHERE seq = 2")
        assert not any(_in_passes(s).checks.values())
    with _snapshot(engine) as s:
        assert {name for name, items in _in_passes(s).checks.items() if items} == {"stored_balances", "chain_valid"}


def test_a_detail_the_database_cannot_read_makes_the_passes_fail_not_pass(book):
    engine, _ = book
    _tamper(engine, "UPDATE ledger_transactions SET details = '{\"bad\": \"\\u0000\"}' WHERE id = (SELECT max(id) FROM ledger_transactions WHERE kind = 'award' AND id IN (SELECT transaction_id FROM ledger_chain_links))")
    with _snapshot(engine) as s, pytest.raises(DBAPIError):
        _in_passes(s)


def test_the_transaction_pass_reads_each_transactions_lines_from_the_index_in_order(book):
    """The canonical lines of a transaction come from the entries' index on transaction_id alone,
    already sorted (migration 0028); with the index on transaction_id only, each was sorted."""
    engine, _ = book
    with Session(bind=engine) as s:
        params = {"lo": -1, "hi": 2**62, "late_before": LATER}
        assert entries_read_in_line_order(s, verify_sql._TRANSACTION_PASS, params)


def test_the_checks_run_only_on_a_utf8_database(database_url):
    """The checks hash a text's bytes as stored (textsend), which are its UTF-8 only on a UTF-8
    database: on another the book is checked the slow way, in Python."""
    name = f"greencoin_latin1_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    engine = ledger.make_engine(f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}", poolclass=NullPool)
    try:
        with Session(bind=engine) as s:
            s.execute(text(chain_sql.CANONICAL_JSON_FUNCTION))
            assert s.scalar(text("SELECT to_regprocedure('ledger_canonical_json(jsonb)') IS NOT NULL"))
            assert chain_sql.available(s) is False
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine = ledger.make_engine(database_url, poolclass=NullPool)
    try:
        with Session(bind=engine) as s:
            assert chain_sql.available(s) is True
    finally:
        engine.dispose()
