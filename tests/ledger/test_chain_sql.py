"""PostgreSQL recomputes the hash chain itself (ledger/chain_sql.py): its canonical text is byte for
byte the one ledger.chain writes, so a sound book leaves nothing for Python to recheck, and an edit
is still found."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

import ledger
from ledger import chain, chain_sql
from ledger.verify import chain_valid

from .conftest import key, open_book
from .plans import entries_read_in_line_order

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

AWKWARD_DETAILS = [
    {},
    {"description": "王小明 志愿服务 2 小时", "reason": '引号 " 反斜杠 \\ 斜杠 /'},
    {"控制": "tab\there\nnew line\r\x01\x1f\x7f", "emoji": "🌱", "line sep": "\u2028"},
    {"lines": [{"sku": "A1", "quantity": 2, "unit_price": 15}, {"sku": "B", "quantity": 1, "unit_price": 0}]},
    {"z": None, "a": True, "m": False, "n": -12345678901234, "nested": {"b": [1, [2, {"c": "d"}]], "a": {}}},
    {"é": 1, "e": 2, "E": 3, "中": 4, "ａ": 5, "": 6},
    {"list": [], "float": 1.5, "ratio": 0.1},
]


@pytest.fixture
def book(database_url, monkeypatch):
    monkeypatch.setattr(chain_sql, "MIN_LINKS", 0)  # a small book, checked the way a big one is
    engine = ledger.make_engine(database_url, poolclass=NullPool)
    factory = ledger.make_session_factory(engine)
    yield factory, open_book(factory)
    engine.dispose()


def _post_awkward(factory, book) -> None:
    for n, details in enumerate(AWKWARD_DETAILS):
        ledger.run_in_transaction(
            factory,
            lambda s, n=n, details=details: ledger.post(
                s,
                lines=[ledger.Line(book.wallets[n % 4], 10 + n), ledger.Line(book.issuance, -10 - n)],
                idempotency_key=key() + ' "键" \\',
                kind="award",
                community_id=book.community_id,
                memo=f"备注 {n} \"quoted\"\n",
                actor_id=n or None,
                location=f"station:{n}" if n % 2 else None,
                details=details,
            ),
        )
    ledger.run_in_transaction(factory, ledger.seal)


def test_the_database_writes_the_same_canonical_text_as_python(book):
    factory, accounts = book
    _post_awkward(factory, accounts)
    with factory() as s:
        assert chain_sql.available(s)
        head = chain.head(s).seq
        assert chain_sql.suspect_links(s, lo=0, hi=head, prev_hash=chain.GENESIS_HASH) == []
        assert chain_valid(s) == []


def test_an_edit_is_found_by_the_database_and_confirmed_by_python(book, database_url):
    factory, accounts = book
    _post_awkward(factory, accounts)
    engine = ledger.make_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("SET session_replication_role = replica"))
        connection.execute(text("UPDATE ledger_transactions SET memo = memo || '!' WHERE id = (SELECT min(id) FROM ledger_transactions)"))
        connection.execute(text("UPDATE ledger_transactions SET details = '{\"bad\": \"\\u0000\"}' WHERE id = (SELECT max(id) FROM ledger_transactions)"))
    engine.dispose()
    with factory() as s:
        assert chain_sql.suspect_links(s, lo=0, hi=chain.head(s).seq, prev_hash=chain.GENESIS_HASH) is None
        found = {(d.check, d.subject.split(":")[0]) for d in chain_valid(s)}
    # The NUL escape is no jsonb: that chunk is checked in Python, which finds the edit as well.
    assert {("content_hash", "transaction"), ("chain_hash", "chain")} <= found
    with factory() as s:
        found = chain_valid(s)
    assert len([d for d in found if d.check == "content_hash"]) == 2


def test_the_chunk_check_reads_each_transactions_lines_from_the_index_in_order(book):
    """As the full check's transaction pass does (migration 0028): no sort of the entries."""
    factory, accounts = book
    _post_awkward(factory, accounts)
    with factory() as s:
        params = {"lo": 0, "hi": chain.head(s).seq, "prev_hash": chain.GENESIS_HASH}
        assert entries_read_in_line_order(s, chain_sql._SUSPECT_LINKS, params)
