"""The settled prefix of the book: ids below which no open transaction can still add a row.

Ids come from sequences, and a transaction that drew a lower id may commit after one that drew a
higher id. A checkpoint or a reconciliation watermark set at the highest *visible* id would then
miss the late committer for ever. ``settled_ids`` returns a bound that is safe:

- SQLite serialises writers (BEGIN IMMEDIATE) and gives a new row an id above every committed one,
  so the highest visible ids in the caller's snapshot are settled.
- PostgreSQL: read the sequences' positions first, then wait until every transaction of this
  database that already held a transaction id has ended. An entry is always written after its
  transaction row (so its writer holds an xid when it draws the entry id): any entry id at or
  below the position read was drawn by a transaction that is now committed (and visible to any
  later snapshot) or rolled back. Transaction ids get the same bound; a writer can draw one an
  instant before it holds an xid, so checks that must see every late transaction select them by
  their entries (see ``ledger.verify``).

Waiting is bounded: a transaction left open longer than ``timeout`` makes ``settled_ids`` return
``None`` and the caller keeps its previous bound (it never advances past what it cannot prove).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, text

from .models import Entry, Transaction

# Transaction ids held (ExclusiveLock on their own transactionid) by other backends of this database.
_OPEN_WRITERS = text(
    "SELECT l.transactionid::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted "
    "AND a.datname = current_database() AND l.pid <> pg_backend_pid()"
)
_STILL_OPEN = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock' "
    "AND granted AND transactionid::text = ANY(:xids)"
)


@dataclass(frozen=True)
class SettledIds:
    entry_id: int
    transaction_id: int


def settled_ids(connection: Connection, *, timeout: float = 60.0, poll: float = 0.02) -> SettledIds | None:
    """The settled bound for this connection's (next) snapshot; ``None`` if open writers outlived
    ``timeout`` seconds. On PostgreSQL, queries issued after this returns see every settled row."""
    if connection.dialect.name != "postgresql":
        entry = connection.scalar(select(func.max(Entry.id))) or 0
        transaction = connection.scalar(select(func.max(Transaction.id))) or 0
        return SettledIds(int(entry), int(transaction))
    entry, transaction = connection.execute(
        text(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('ledger_entries', 'id')), "
            "pg_sequence_last_value(pg_get_serial_sequence('ledger_transactions', 'id'))"
        )
    ).one()
    connection.execute(text("SELECT pg_stat_clear_snapshot()"))  # fresh activity, also inside a transaction
    xids = list(connection.scalars(_OPEN_WRITERS))
    deadline = time.monotonic() + timeout
    while xids and connection.scalar(_STILL_OPEN, {"xids": xids}):
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)
    return SettledIds(int(entry or 0), int(transaction or 0))
