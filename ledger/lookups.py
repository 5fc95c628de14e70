"""What a batch of postings reads before it writes (``ledger.bulk``, the imports, the city demo): the
accounts' shapes and the tracked ones' balances locked in id order, the idempotency keys already used,
and new ids drawn from a table's sequence, each in one round trip on PostgreSQL (one array parameter,
rows as plain tuples from the bare driver) and in chunks of IN lists on SQLite."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .shapes import AccountShape, remember_shapes
from .shapes import _shapes as _shape_cache

LOOKUP_CHUNK = 5000  # keys or ids per IN list (SQLite's parameter limit)


def select_in(session: Session, columns: str, table: str, key: str, values: list, *, sql_type: str,
               lock: bool = False) -> list:
    """``SELECT columns FROM table WHERE key IN values`` (in ``key`` order): one array parameter on
    PostgreSQL (no statement with thousands of parameters to build), chunks of IN lists on SQLite.
    ``lock`` adds FOR UPDATE on PostgreSQL; SQLite's writer already holds the database lock."""
    if not values:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return fetch_pg(
            session,
            f"SELECT {columns} FROM {table} WHERE {key} = ANY(CAST(%(values)s AS {sql_type}[])) ORDER BY {key}"
            + (" FOR UPDATE" if lock else ""),
            {"values": id_array(values) if sql_type == "bigint" else values},
        )
    rows = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        rows += connection.exec_driver_sql(
            f"SELECT {columns} FROM {table} WHERE {key} IN ({', '.join('?' * len(chunk))}) ORDER BY {key}",
            tuple(chunk),
        ).all()
    return rows


def fetch_pg(session: Session, sql: str, params: dict) -> list[tuple]:
    """Rows as plain tuples from the bare driver: a batch reads tens of thousands of them."""
    with session.connection().connection.driver_connection.cursor() as cursor:
        return cursor.execute(sql, params).fetchall()


def id_array(ids) -> str:
    """Integer ids as a PostgreSQL array literal: one text parameter, far cheaper to send than a list."""
    return "{" + ",".join(map(str, map(int, ids))) + "}"


# Shapes of the accounts, and the balance and version of the tracked ones locked in id order (the
# lock order of ``post``): one round trip on PostgreSQL. Untracked accounts (issuance) stay unlocked.
_SHAPES_AND_BALANCES_PG = """
WITH wanted AS MATERIALIZED (
  SELECT id, unit, community_id, allow_negative, track_balance FROM ledger_accounts
  WHERE id = ANY(CAST(%(ids)s AS bigint[]))
), locked AS MATERIALIZED (
  SELECT a.id, a.balance, a.version FROM ledger_accounts a
  WHERE a.id IN (SELECT id FROM wanted WHERE track_balance) ORDER BY a.id FOR UPDATE
)
SELECT w.id, w.unit, w.community_id, w.allow_negative, w.track_balance, l.balance, l.version
FROM wanted w LEFT JOIN locked l ON l.id = w.id
"""


def shapes_and_balances(session: Session, account_ids: list[int]) -> tuple[dict[int, AccountShape], dict]:
    """The accounts' shapes (see ``_shapes``) and the tracked ones' locked balances (``locked_balances``)."""
    if session.get_bind().dialect.name != "postgresql":
        shapes = known_shapes(session, account_ids)
        return shapes, locked_balances(session, [a for a, shape in shapes.items() if shape.track_balance])
    if not account_ids:
        return {}, {}
    shapes, balances = {}, {}
    for account_id, unit, community_id, allow_negative, track_balance, balance, version in fetch_pg(
        session, _SHAPES_AND_BALANCES_PG, {"ids": id_array(account_ids)}
    ):
        shapes[account_id] = AccountShape(account_id, unit, community_id, allow_negative, track_balance)
        if track_balance:
            balances[account_id] = [int(balance), int(version)]
    remember_shapes(session, list(shapes.values()))
    return shapes, balances


def known_shapes(session: Session, account_ids: list[int]) -> dict[int, AccountShape]:
    """Account shapes from ``post``'s per-process cache, the missing ones read in one query."""
    cache = _shape_cache.setdefault(session.get_bind(), {})
    found = {i: cache[i] for i in account_ids if i in cache}
    missing = sorted(i for i in account_ids if i not in found)
    read = [AccountShape(*row) for row in select_in(
        session, "id, unit, community_id, allow_negative, track_balance", "ledger_accounts", "id", missing,
        sql_type="bigint",
    )]
    remember_shapes(session, read)
    found.update((shape.id, shape) for shape in read)
    return found


def used_keys(session: Session, keys: list[str]) -> dict[str, tuple[int, str]]:
    """Idempotency keys already in the book: key -> (transaction id, request hash)."""
    rows = select_in(session, "idempotency_key, id, request_hash", "ledger_transactions", "idempotency_key", keys,
                      sql_type="text")
    return {key: (tx_id, digest) for key, tx_id, digest in rows}


def locked_balances(session: Session, account_ids: list[int]) -> dict[int, list[int]]:
    """Tracked accounts' balance and version, locked in id order (the lock order of ``post``), so
    nothing moves them between this read and the batch's write."""
    rows = select_in(session, "id, balance, version", "ledger_accounts", "id", sorted(account_ids),
                      sql_type="bigint", lock=True)
    return {account_id: [int(balance), int(version)] for account_id, balance, version in rows}


# The sequence is looked up once (per row it cost ten times the nextval), and the ids come back as a
# range when no one else drew from it meanwhile (the usual case), not as an array of tens of thousands.
_DRAW_IDS = text(
    "WITH s AS MATERIALIZED (SELECT CAST(pg_get_serial_sequence(:table, 'id') AS regclass) AS seq), "
    "drawn AS (SELECT nextval(s.seq) AS id FROM s, generate_series(1, :n)) "
    "SELECT min(id), max(id), CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL ELSE array_agg(id) END FROM drawn"
)


def draw_ids(session: Session, table: str, count: int) -> list[int]:
    """``count`` new ids of ``table``: from its sequence on PostgreSQL; past the highest on SQLite,
    whose writers are serialised (BEGIN IMMEDIATE) so no one else draws them meanwhile."""
    if count == 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        low, high, drawn = connection.execute(_DRAW_IDS, {"table": table, "n": count}).one()
        return list(range(low, high + 1)) if drawn is None else sorted(drawn)
    highest = connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
    return list(range(highest + 1, highest + 1 + count))
