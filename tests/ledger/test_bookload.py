"""``ledger.bookload``: a generated book written in bulk is hashed, chained and balanced as ``post`` would."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

import ledger
from ledger import bookload, chain, verify_sql
from ledger.models import ChainLink, Entry, Transaction
from ledger.posting import request_hash

from .conftest import award, open_book, unsound
from .test_chain_sql import AWKWARD_DETAILS

AT = dt.datetime(2026, 3, 1, 4, 5, 6, 789012, tzinfo=dt.UTC)


def _generate(book, first_id: int) -> tuple[list[tuple], list[tuple], dict[int, tuple[int, int]]]:
    """Awards with awkward details, an hours posting in two units, a basket and its reversal."""
    transactions, entries, balances = [], [], {}

    def add(kind, lines, **fields):
        tx_id = first_id + len(transactions)
        row = {"key": f"load:{tx_id}", "memo": "", "actor": None, "location": None, "details": {}, "reverses": None,
               "related": None, **fields}
        transactions.append((tx_id, row["key"], kind, book.community_id, row["memo"], row["actor"], row["location"],
                             row["details"], row["reverses"], row["related"], AT + dt.timedelta(seconds=tx_id)))
        for account, unit, amount in lines:
            if account in (book.issuance, book.hour_issuance, book.till):
                entries.append((tx_id, account, unit, amount, None, None))
                continue
            balance, version = balances.get(account, (0, 0))
            balances[account] = (balance + amount, version + 1)
            entries.append((tx_id, account, unit, amount, *balances[account]))
        return tx_id

    wallet = book.wallets[1]
    for n, details in enumerate(AWKWARD_DETAILS):
        add("conduct_award", [(wallet, "COIN", 10 + n), (book.issuance, "COIN", -10 - n)], details=details,
            memo='邻里 "互助"' if n % 2 else "", actor=n or None, location=f"station:{n}" if n % 3 else None)
    add("volunteer_hours", [(book.hour_wallet, "HOUR", 90), (book.hour_issuance, "HOUR", -90),
                            (wallet, "COIN", 15), (book.issuance, "COIN", -15)], details={"minutes": 90})
    basket = add("redemption", [(wallet, "COIN", -12), (book.till, "COIN", 12)], related=first_id)
    add("redemption.reversal", [(wallet, "COIN", 12), (book.till, "COIN", -12)], reverses=basket, memo="退货")
    return transactions, entries, balances


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_loaded_book_has_the_hashes_post_makes_and_passes_reconciliation(session_factory, chunks):
    book = open_book(session_factory)
    award(session_factory, book, book.wallets[0], 5)  # a book that already has a sealed chain
    ledger.run_in_transaction(session_factory, ledger.seal)
    with session_factory() as session:
        transactions, entries, balances = _generate(book, bookload.next_transaction_id(session.connection()))
        loader = bookload.BookLoader(session)
        size = -(-len(transactions) // chunks)
        parts = [(part, [e for e in entries if e[0] in {t[0] for t in part}])
                 for part in (transactions[start : start + size] for start in range(0, len(transactions), size))]
        if chunks == 1:
            loader.write(*parts[0])
        else:  # chunks prepared by a thread while the previous one is written, a commit each
            written = []
            loader.write_all(iter(parts), written.append)
            assert written == [len(part) for part, _ in parts]
        loader.finish(balances)
        session.commit()
        assert loader.rows == 2 * len(transactions) + len(entries)
        assert set(loader.seconds) == {"balances", "foreign_keys"} and loader.seconds["balances"] > 0

    assert unsound(session_factory) == {}  # balances, sums, the chain recomputed in Python
    with session_factory() as session:
        for tx_id, key, kind, community, memo, actor, location, details, reverses, related, at in transactions:
            stored = session.get(Transaction, tx_id)
            lines = session.execute(select(Entry.account_id, Entry.unit, Entry.amount)
                                    .where(Entry.transaction_id == tx_id)).all()
            fields = {"kind": kind, "community_id": community, "memo": memo, "actor_id": actor,
                      "location": location, "details": details, "reverses_id": reverses, "related_id": related}
            assert stored.request_hash == request_hash(**fields, lines=sorted((a, m) for a, _u, m in lines))
            assert stored.content_hash == chain.content_hash(**fields, idempotency_key=key, created_at=at,
                                                             lines=lines)
            assert stored.details == details and stored.created_at == at
        links = session.scalars(select(ChainLink).order_by(ChainLink.seq)).all()
        assert [link.transaction_id for link in links][1:] == [t[0] for t in transactions]
        assert [link.sealed_at for link in links][1:] == [t[-1] for t in transactions]
        if session.get_bind().dialect.name == "postgresql":
            with verify_sql.full_check(session, late_before=ledger.utcnow()) as finish:
                found = finish()
            assert not any(found.checks.values())
            # The foreign keys set aside while a chunk is written are back, validated.
            assert session.execute(text(
                "SELECT count(*), bool_and(convalidated) FROM pg_constraint WHERE contype = 'f' AND conrelid IN "
                "('ledger_transactions'::regclass, 'ledger_entries'::regclass, 'ledger_chain_links'::regclass)"
            )).one() == (5, True)
            # New ids after the load continue above it.
            assert session.scalar(text("SELECT nextval(pg_get_serial_sequence('ledger_entries', 'id'))")) > max(
                session.scalars(select(Entry.id)).all())


def test_a_transaction_without_entries_is_refused(session_factory):
    book = open_book(session_factory)
    with session_factory() as session:
        first = bookload.next_transaction_id(session.connection())
        loader = bookload.BookLoader(session)
        row = (first, "load:lonely", "award", book.community_id, "", None, None, {}, None, None, AT)
        with pytest.raises((ValueError, KeyError)):
            loader.write([row], [])


def test_a_chunk_s_companion_rows_are_written_in_its_unit_of_work_with_their_keys_set_aside(session_factory):
    """A generator's own rows behind its postings (a demo's records) ride with each chunk: written by
    the caller's writer before the chunk commits, their table's foreign keys set aside with the
    ledger's and back, validated, after ``finish``."""
    book = open_book(session_factory)
    with session_factory() as session:
        session.execute(text("CREATE TABLE load_notes (id bigint PRIMARY KEY, "
                             "transaction_id bigint CONSTRAINT fk_load_notes_tx REFERENCES ledger_transactions (id))"))
        session.commit()
    postgresql = session_factory.kw["bind"].dialect.name == "postgresql"
    keys_while_written = []

    def write_notes(connection, notes):
        if postgresql:
            keys_while_written.append(connection.exec_driver_sql(
                "SELECT count(*) FROM pg_constraint WHERE conname = 'fk_load_notes_tx'").scalar())
        bookload.copy_rows(connection, "load_notes", ("id", "transaction_id"), notes)

    try:
        with session_factory() as session:
            transactions, entries, balances = _generate(book, bookload.next_transaction_id(session.connection()))
            loader = bookload.BookLoader(session, companion_tables=("load_notes",), write_companion=write_notes)
            parts = [(transactions[:2], [e for e in entries if e[0] in {t[0] for t in transactions[:2]}],
                      [(n, t[0]) for n, t in enumerate(transactions[:2])]),
                     (transactions[2:], [e for e in entries if e[0] not in {t[0] for t in transactions[:2]}],
                      [(n + 2, t[0]) for n, t in enumerate(transactions[2:])])]
            loader.write_all(iter(parts))
            loader.finish(balances)
            session.commit()
            assert sorted(session.execute(text("SELECT id, transaction_id FROM load_notes")).all()) == [
                (n, t[0]) for n, t in enumerate(transactions)]
            if postgresql:
                assert keys_while_written == [0, 0]
                assert session.scalar(text(
                    "SELECT convalidated FROM pg_constraint WHERE conname = 'fk_load_notes_tx'")) is True
        assert unsound(session_factory) == {}
    finally:
        with session_factory() as session:
            session.execute(text("DROP TABLE load_notes"))
            session.commit()
