"""Entries and transactions can never be updated or deleted; tampering past the trigger is caught."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import ledger

from .conftest import award, balance, footprint, open_book, unsound

CHANGES = [
    "UPDATE ledger_entries SET amount = amount * 2",
    "DELETE FROM ledger_entries",
    "UPDATE ledger_transactions SET memo = 'edited'",
    "DELETE FROM ledger_transactions",
    "UPDATE ledger_chain_links SET chain_hash = 'x'",
    "DELETE FROM ledger_chain_links",
]


@pytest.fixture
def posted_book(session_factory):
    book = open_book(session_factory)
    award(session_factory, book, book.wallets[0], 30)
    assert unsound(session_factory) == {}  # also seals, so chain links exist
    return book


@pytest.mark.parametrize("statement", CHANGES)
def test_database_refuses_changing_ledger_rows(engine, session_factory, posted_book, statement):
    before = footprint(session_factory)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    assert footprint(session_factory) == before


def test_postgres_refuses_truncating_ledger_tables(pg_url):
    engine = ledger.make_engine(pg_url)
    factory = ledger.make_session_factory(engine)
    book = open_book(factory)
    award(factory, book, book.wallets[0], 30)
    try:
        for table in ("ledger_entries", "ledger_transactions", "ledger_chain_links"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {table} CASCADE"))
        assert balance(factory, book.wallets[0]) == 30 and unsound(factory) == {}
    finally:
        engine.dispose()


def test_tampering_that_bypasses_the_trigger_is_found_by_verification(engine, session_factory, posted_book):
    """An operator who switches the trigger off still cannot edit history unnoticed."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER ledger_entries_no_update"))
        connection.execute(
            text("UPDATE ledger_entries SET amount = amount * 2 WHERE account_id = :a"),
            {"a": posted_book.wallets[0]},
        )
    found = unsound(session_factory)
    assert {d.check for d in found["stored_balances"]} == {"stored_balance"}
    assert "content_hash" in {d.check for d in found["chain_valid"]}
    assert {d.check for d in found["transactions_balanced"]} == {"transaction_sum"}


def test_every_stored_balance_moves_with_its_entries(session_factory):
    book = open_book(session_factory)
    posted = award(session_factory, book, book.wallets[1], 12)
    with session_factory() as session:
        tx = session.get(ledger.Transaction, posted.transaction_id)
        wallet_entry = next(e for e in tx.entries if e.account_id == book.wallets[1])
        issuance_entry = next(e for e in tx.entries if e.account_id == book.issuance)
        assert (wallet_entry.balance_after, wallet_entry.account_version) == (12, 1)
        # untracked system accounts carry no stored balance: no row lock, no hot spot
        assert (issuance_entry.balance_after, issuance_entry.account_version) == (None, None)
        assert ledger.balance(session, book.issuance) == -12
