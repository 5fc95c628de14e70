"""On PostgreSQL a posting is one statement whatever it touches, and its row locks keep one order.

A transfer between two wallets moves two stored balances; it used to take four statements (the
transaction row, one conditional UPDATE per wallet, the entries). Now it is one statement that locks
the tracked accounts in ascending id before moving them, so opposing transfers still never deadlock:
here they run with no retry at all, and a deadlock would reach the caller.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

import ledger

from .conftest import award, balance, key, open_book, unsound
from .test_concurrency_pg import THREADS, outcome_kinds, run_threads


@pytest.fixture
def factory(pg_url):
    engine = ledger.make_engine(pg_url, pool_size=THREADS + 8, max_overflow=8)
    yield ledger.make_session_factory(engine)
    engine.dispose()


def once(factory, book, source, target, amount):
    """A transfer with no retry: any deadlock or serialization failure reaches the caller."""
    return ledger.run_in_transaction(
        factory,
        lambda s: ledger.post(
            s, lines=[ledger.Line(source, -amount), ledger.Line(target, amount)], idempotency_key=key(),
            kind="transfer", community_id=book.community_id,
        ),
        attempts=1,
    )


def test_a_transfer_between_two_tracked_wallets_is_one_statement(factory):
    book = open_book(factory, wallets=2)
    a, b = book.wallets
    award(factory, book, a, 100)
    once(factory, book, a, b, 1)  # account shapes are cached from here on
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        posted = once(factory, book, a, b, 30)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert posted.balances == {a: 69, b: 31}
    assert balance(factory, a) == 69 and balance(factory, b) == 31


def test_a_refused_transfer_moves_nothing_and_names_the_short_wallet(factory):
    book = open_book(factory, wallets=2)
    a, b = book.wallets
    award(factory, book, a, 10)
    with pytest.raises(ledger.InsufficientBalance) as refused:
        once(factory, book, a, b, 11)
    assert refused.value.details["account_id"] == a
    assert refused.value.details["balance"] == 10
    assert (balance(factory, a), balance(factory, b)) == (10, 0)
    assert unsound(factory) == {}


def test_opposing_transfers_with_no_retry_never_deadlock(factory):
    book = open_book(factory, wallets=3)
    wallets = book.wallets
    for wallet in wallets:
        award(factory, book, wallet, 500)

    def work(index):
        rng = random.Random(index)
        refused = 0
        for _ in range(15):
            source, target = rng.sample(wallets, 2)
            try:
                once(factory, book, source, target, rng.randint(1, 60))
            except ledger.InsufficientBalance:
                refused += 1
        return refused

    results = run_threads(THREADS, work)
    assert all(isinstance(r, int) for r in results), outcome_kinds(results)
    assert sum(balance(factory, w) for w in wallets) == 1500
    assert unsound(factory) == {}


def test_a_lock_wait_given_up_in_the_straight_sent_posting_is_a_retryable_sqlalchemy_error(factory):
    """The posting is sent straight through psycopg (``ledger.db.send_straight``); a driver error must
    still arrive as SQLAlchemy's, with its SQLSTATE, or ``retrying`` would not retry it."""
    book = open_book(factory, wallets=2)
    a, b = book.wallets
    award(factory, book, a, 100)
    engine = factory.kw["bind"]
    with engine.connect() as blocker:
        blocker.execute(text("SELECT id FROM ledger_accounts WHERE id = :a FOR UPDATE"), {"a": a})

        def impatient(session):
            session.execute(text("SET LOCAL lock_timeout = '50ms'"))
            return ledger.post(session, lines=[ledger.Line(a, -5), ledger.Line(b, 5)], idempotency_key=key(),
                               kind="transfer", community_id=book.community_id)

        with pytest.raises(OperationalError) as gave_up:
            ledger.run_in_transaction(factory, impatient, attempts=1)
        assert ledger.db.sqlstate(gave_up.value) == "55P03"
        assert ledger.db.is_retryable(gave_up.value)
        blocker.rollback()
    # Released: the same unit of work, retried as ``retrying`` would, posts once.
    posted = ledger.run_in_transaction(factory, impatient, attempts=2)
    assert posted.balances == {a: 95, b: 5}
    assert unsound(factory) == {}


def test_a_statement_sent_straight_binds_its_values_as_sqlalchemy_would(factory):
    """``send_straight`` passes each value through its type's bind processor (JSON serialised by the
    engine's serializer, a timestamp moved to UTC) and refuses an expanding ``IN`` list a caller binds,
    which the compiled text, cached by statement, would freeze at its first length."""
    import datetime as dt

    from sqlalchemy import JSON, bindparam, column, select

    from ledger.db import send_straight
    from ledger.models import UTCDateTime

    statement = select(
        bindparam("doc", type_=JSON).label("doc"), bindparam("at", type_=UTCDateTime).label("at"),
    )
    at = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with factory() as session:
        connection = session.connection()
        straight = send_straight(connection, statement, {"doc": {"b": 1, "a": "绿"}, "at": at}).fetchone()
        through = connection.execute(statement, {"doc": {"b": 1, "a": "绿"}, "at": at}).one()
        assert tuple(straight) == tuple(through) == ({"a": "绿", "b": 1}, at)
        assert straight[1].utcoffset() == dt.timedelta(0)
        listed = select(column("x")).select_from(text("(VALUES (1), (2)) AS v(x)")).where(
            column("x").in_(bindparam("xs", expanding=True))
        )
        with pytest.raises(ValueError, match="ANY"):
            send_straight(connection, listed, {"xs": [1, 2]})
        # A parameter with a default, left out by one call and bound by the next, is processed both times.
        defaulted = select(bindparam("doc", type_=JSON, value={"default": True}).label("doc"))
        assert send_straight(connection, defaulted, {}).fetchone()[0] == {"default": True}
        assert send_straight(connection, defaulted, {"doc": {"mine": 1}}).fetchone()[0] == {"mine": 1}


def test_a_connection_lost_in_a_straight_statement_retires_the_whole_pool(pg_url):
    """A server restart kills every pooled connection; the first statement to find out (often a
    sign-in read, sent straight and not retried) must have the pool retire them all, as SQLAlchemy's
    own error handling does, or each later checkout fails once more."""
    from sqlalchemy import literal_column, select
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    from ledger.db import send_straight

    engine = ledger.make_engine(pg_url, pool_size=3, max_overflow=0)
    admin = ledger.make_engine(pg_url, poolclass=NullPool)
    try:
        held = [engine.connect() for _ in range(3)]
        pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in held]
        for connection in held:
            connection.close()
        with admin.connect() as killer:
            for pid in pids:
                killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with engine.connect() as connection, pytest.raises(DBAPIError) as lost:
            send_straight(connection, select(literal_column("1")), {}).fetchone()
        assert lost.value.connection_invalidated
        again = [engine.connect() for _ in range(3)]
        try:
            assert [c.execute(text("SELECT 1")).scalar() for c in again] == [1, 1, 1]
        finally:
            for connection in again:
                connection.close()
    finally:
        engine.dispose()
        admin.dispose()
