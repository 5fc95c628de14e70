"""Engines and units of work that make the ledger correct on both PostgreSQL and SQLite."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .chain import canonical_json
from .errors import RetryableConflict

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL SQLSTATEs worth retrying with the same idempotency key.
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
UNIQUE_VIOLATION = "23505"
# What sits between the app and PostgreSQL: nothing, a pooler that lends a server connection for a
# whole client session (nothing changes), or one that lends it for one transaction only.
POOLERS = ("none", "session", "transaction")


def make_engine(url: str, *, pooler: str | None = None, **kwargs) -> Engine:
    """Create an engine; on SQLite: WAL, a busy timeout, foreign keys and BEGIN IMMEDIATE.

    ``pooler="transaction"`` (PgBouncer's transaction mode): psycopg never prepares a statement on
    the server. It prepares a query on its 5th run on a connection and names it ``_pg3_<n>``; behind
    the pooler the next transaction runs on another server connection, which lacks that statement
    (or holds another client's statement of that name). Everything else the ledger keeps on a
    connection lasts one transaction only (``SET LOCAL``, ``pg_advisory_xact_lock``, temporary tables
    ``ON COMMIT DROP``, a snapshot exported and imported while its transaction is open).

    pysqlite's legacy transaction handling issues no BEGIN before a SELECT and defers the write
    lock, so two writers can read the same balance; SQLAlchemy also silently drops FOR UPDATE on
    SQLite. Every unit of work therefore starts with BEGIN IMMEDIATE: writers are serialised by
    the database lock, readers (WAL) are not blocked by them.
    """
    if (pooler or "none") not in POOLERS:
        raise ValueError(f"pooler must be one of {', '.join(POOLERS)}, not {pooler!r}")
    # JSON columns hold their canonical text, so PostgreSQL can hash a transaction's details as stored.
    kwargs.setdefault("json_serializer", canonical_json)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).update({"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pre-ping (a SELECT 1 round trip at every checkout): a connection that turns out dead is
    # detected by the unit of work's first statement and the work is retried (see ``retrying``).
    # LIFO: a writer gets back the connection it just used (its server process warm, its statements
    # prepared) instead of cycling through every connection a burst of threads left idle in the pool;
    # in the ledger bench, one writer after a four-writer run posted 0.77-0.82 x raw FIFO, 0.95-0.99 LIFO.
    # The connections left at the bottom of the stack may sit idle for long: recycled after 30 minutes,
    # before a firewall's or a pooler's idle time-out can have closed them under us.
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_use_lifo", True)
        kwargs.setdefault("pool_recycle", 1800)
    if pooler == "transaction":
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "prepare_threshold": None}
    return create_engine(url, **kwargs)


# (id(statement), names bound) -> (statement, SQL, constant parameters, bind processors)
_COMPILED: dict[tuple[int, frozenset], tuple] = {}


def send_straight(connection: Connection, statement, params: dict):
    """Run ``statement`` (built once, at import or in a cache) on a PostgreSQL ``connection`` straight
    through psycopg and return psycopg's cursor: for the statements every request or posting sends.

    SQLAlchemy's execution context costs ~70 µs of CPU per statement, as much again as psycopg's own
    work. Here the statement is compiled once per process; lists in the statement itself (``kind IN
    (…)``) are expanded then, with its other constants kept as parameters merged under ``params`` at
    each call (a list the caller binds goes as an array: ``= ANY(:ids)``, never an expanding ``IN``,
    which would be frozen at its first length). The parameters go through their types' bind
    processors as SQLAlchemy would send them (JSON serialised, UTC timestamps checked); the columns
    come back as psycopg reads them, so a caller reads only columns psycopg and SQLAlchemy read alike
    (integers, text, booleans, arrays; JSON parsed; a timestamp is the same instant but in the
    session's time zone, not moved to UTC as ``UTCDateTime`` reads it). Same connection, same
    transaction; ``before_cursor_execute`` listeners still hear the statement (the HTTP bench and the
    tests count round trips); a driver error is raised as SQLAlchemy's (``IntegrityError``,
    ``OperationalError``…), so ``retrying`` sees deadlocks and serialization failures as it does
    elsewhere, and a dead connection is invalidated."""
    # Keyed by the names bound too: which parameters are the statement's own constants (merged under
    # the caller's, their processors applied once) depends on which ones the caller binds.
    cache_key = (id(statement), frozenset(params))
    built = _COMPILED.get(cache_key)
    if built is None or built[0] is not statement:
        compiled = statement.compile(dialect=connection.dialect)
        bound_lists = [name for name in params if name in compiled.binds and compiled.binds[name].expanding]
        if bound_lists:
            raise ValueError(f"bind {', '.join(bound_lists)} as arrays (= ANY), not expanding IN lists")
        expanded = compiled.construct_expanded_state(params)
        constants = {name: value for name, value in expanded.parameters.items() if name not in params}
        # The types' bind processors (SQLAlchemy's own table of them), and those of the expanded lists.
        processors = {name: process for name, process in {**compiled._bind_processors, **expanded.processors}.items()
                      if process is not None}
        constants = {name: processors[name](v) if name in processors else v for name, v in constants.items()}
        processors = {name: process for name, process in processors.items() if name not in constants}
        built = _COMPILED[cache_key] = (statement, expanded.statement, constants, processors)
    _statement, sql, constants, processors = built
    bound = {**constants, **params} if constants else dict(params)
    for name, process in processors.items():
        if name in bound:
            bound[name] = process(bound[name])
    if not connection.in_transaction():  # as ``Connection.execute`` would, so its commit() commits
        connection.begin()
    connection.dispatch.before_cursor_execute(connection, None, sql, bound, None, False)
    driver = connection.connection.driver_connection
    try:
        return driver.execute(sql, bound)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(connection, sql, bound, exc) from exc


def execute_hot(connection: Connection, statement, params: dict):
    """``send_straight`` on PostgreSQL, ``connection.execute`` elsewhere: for a statement on a hot path
    on both databases. Read the answer with ``fetchone()``/``fetchall()`` and by position (psycopg
    gives tuples, SQLAlchemy rows)."""
    if connection.dialect.name == "postgresql":
        return send_straight(connection, statement, params)
    return connection.execute(statement, params)


def _as_sqlalchemy_error(connection: Connection, sql: str, params: dict, exc: Exception) -> DBAPIError:
    """What SQLAlchemy itself raises for this driver error (and, for a lost connection, what it does)."""
    dbapi = connection.dialect.loaded_dbapi
    dead = connection.dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
    if dead and not connection.invalidated:
        # As SQLAlchemy does: the server is likely gone for every pooled connection made before now
        # (a restart, a fail-over), so the pool retires them all, not only this one.
        connection.engine.pool._invalidate(connection.connection, exc)
        connection.invalidate(exc)
    return DBAPIError.instance(sql, params, exc, dbapi.Error, connection_invalidated=dead, dialect=connection.dialect)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: results of a unit of work are returned to callers.
    return sessionmaker(bind=engine, expire_on_commit=False)


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_retryable(exc: BaseException) -> bool:
    """Deadlocks, serialization failures, lost unique races and SQLite's 'database is locked'."""
    if isinstance(exc, RetryableConflict):
        return True
    if isinstance(exc, DBAPIError):
        state = sqlstate(exc)
        if state in RETRYABLE_SQLSTATES:
            return True
        if isinstance(exc, IntegrityError) and state == UNIQUE_VIOLATION:
            return True  # a concurrent writer claimed the same key first; the rerun will replay
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


def run_in_transaction(
    session_factory: Callable[[], Session],
    work: Callable[[Session], T],
    *,
    attempts: int = 8,
) -> T:
    """Run ``work(session)`` in a fresh session, commit, retry transient conflicts (see ``retrying``)."""
    with session_factory() as session:
        return retrying(session, work, attempts=attempts)


def retrying(session: Session, work: Callable[[Session], T], *, attempts: int = 8) -> T:
    """Run ``work(session)`` as one database transaction and commit; on a transient conflict roll
    back and run it again.

    ``work`` must be safe to re-run (it is: every money path is keyed by an idempotency key).
    On any exception the transaction is rolled back, so a refused operation leaves no trace.
    """
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            result = work(session)
            committing = True
            session.commit()
            return result
        except Exception as exc:
            session.rollback()
            # A connection found dead while working (a restarted database, a stale pooled
            # connection) is retried; one lost during COMMIT is not: its outcome is unknown.
            dead_before_commit = not committing and getattr(exc, "connection_invalidated", False)
            if attempt < attempts and (is_retryable(exc) or dead_before_commit):
                log.info("retrying unit of work after %s (attempt %d)", type(exc).__name__, attempt)
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue
            raise
    raise AssertionError("unreachable")


# Append-only enforcement, installed by the first migration.
APPEND_ONLY_TABLES = ("ledger_transactions", "ledger_entries", "ledger_chain_links")

POSTGRES_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def append_only_ddl(dialect: str, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> list[str]:
    """Statements that make the tables refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL)."""
    statements = [POSTGRES_APPEND_ONLY_FUNCTION] if dialect == "postgresql" else []
    for table in tables:
        if dialect == "postgresql":
            statements.append(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            statements.append(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )
        else:
            for op in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'ledger table {table} is append-only: {op} refused'); END"
                )
    return statements


def drop_append_only_ddl(
    dialect: str, tables: tuple[str, ...] = APPEND_ONLY_TABLES, *, drop_function: bool = True
) -> list[str]:
    statements = []
    for table in tables:
        if dialect == "postgresql":
            statements.append(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            statements.append(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            statements += [f"DROP TRIGGER IF EXISTS {table}_no_{op}" for op in ("update", "delete")]
    if dialect == "postgresql" and drop_function:
        statements.append("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    return statements
