"""Loading a generated book (a city's year of history) at COPY speed, hashed as ``post`` hashes.

A generator that already knows every balance (it applies the rules itself, in time order) hands
over transactions without hashes and their entries, chunk by chunk. On PostgreSQL the entries are
COPYed into their table and the transactions into a temporary one, from which ``INSERT … SELECT``
writes them with the request hash (``chain_sql.REQUEST_HASH``) and the content hash (``chain_sql.CONTENT_HASH``,
the reconciliation's own canonical text) made by the database: Python gives only the entries' part of
each canonical text and hashes nothing but the chain links (one sha256 of two hashes per link, sealed
at each transaction's own time). A thread prepares the next chunk's COPY text while the database writes this one. On
SQLite the same rows are hashed in Python and written by executemany.

A chunk may carry a companion: rows of the generator's own tables behind its postings (a demo's
service records, awards, baskets), already in the form its writer takes (COPY text on PostgreSQL);
the loader hands it to that writer in the chunk's unit of work, after the ledger rows, and sets
those tables' foreign keys aside with its own. The loader knows nothing of what they are.

The loader owns the book while it runs: it takes the sealers' lock and sets the loaded tables'
foreign keys aside for each chunk (they are back before it commits, and validated by ``finish``);
the caller lets no one else write meanwhile (a demo or a bench loads into a fresh database).
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from . import chain, chain_sql, copytext
from .posting import request_hash

# A transaction as the generator makes it: the columns of ``ledger_transactions`` but the hashes.
TX_COLUMNS = ("id", "idempotency_key", "kind", "community_id", "memo", "actor_id", "location", "details",
              "reverses_id", "related_id", "created_at")
ENTRY_COLUMNS = ("transaction_id", "account_id", "unit", "amount", "balance_after", "account_version")
LINK_COLUMNS = ("seq", "transaction_id", "prev_hash", "chain_hash", "sealed_at")

# Only the transactions are staged (a temporary table, no WAL); entries go straight to their table.
_STAGE_PG = """
CREATE TEMP TABLE IF NOT EXISTS ledger_load_transactions (id bigint, idempotency_key text, kind text,
  community_id bigint, memo text, actor_id bigint, location text, details text, reverses_id bigint,
  related_id bigint, created_at timestamptz, lines text, request_lines text);
TRUNCATE ledger_load_transactions
"""
# ``lines`` and ``request_lines``: the entries' parts of the two canonical texts, as the generator
# wrote the entries (``_lines``); aggregating them back from the stored entries cost the database
# more than the hashes themselves. Reconciliation recomputes both from the stored entries.
_INSERT_TRANSACTIONS_PG = f"""
INSERT INTO ledger_transactions (id, idempotency_key, request_hash, kind, community_id, memo, actor_id,
  location, details, reverses_id, related_id, created_at, content_hash)
SELECT t.id, t.idempotency_key, {chain_sql.REQUEST_HASH}, t.kind, t.community_id, t.memo, t.actor_id, t.location,
       CAST(t.details AS json), t.reverses_id, t.related_id, t.created_at, {chain_sql.CONTENT_HASH}
FROM ledger_load_transactions t CROSS JOIN LATERAL (SELECT t.lines, t.request_lines) AS x
ORDER BY t.id
RETURNING id, content_hash, created_at
"""
# The foreign keys of the tables a load writes. Checked row by row they cost as much as writing the
# rows (each check locks the row it points at); so, as PostgreSQL's "Populating a Database" advises, a
# chunk is written without them and they come back before it commits, NOT VALID (enforced for
# every later row, never unenforced in a committed state); ``finish`` validates them in one scan.
_FOREIGN_KEYS_PG = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid = ANY(CAST(%s AS regclass[]))
ORDER BY c.conrelid::regclass::text, c.conname
"""
LEDGER_TABLES = ("ledger_transactions", "ledger_entries", "ledger_chain_links")
# A companion's writer: (the chunk's connection, the companion as the chunk carried it).
CompanionWriter = Callable[[Connection, Any], None]


def copy_rows(connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write rows into ``table``: COPY on PostgreSQL, executemany on SQLite (for the loader and the
    generators' own tables: residents, wallets)."""
    if connection.dialect.name == "postgresql":
        with (connection.connection.driver_connection.cursor() as cursor,
              cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy):
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(sqlite_value(v) for v in row) for row in rows],
    )


def sqlite_value(value):
    if isinstance(value, dt.datetime):  # stored as naive UTC text, as UTCDateTime writes it
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class _Chunk:
    """A chunk as COPY text (PostgreSQL), ready to send."""

    count: int
    entry_count: int
    transactions: bytes
    entries: bytes
    companion: Any = None


def _lines(lines: Sequence[tuple[int, str, int]]) -> tuple[str, str]:
    """A transaction's entries as its canonical content's lines (``chain.canonical_content``:
    [account, unit, amount] sorted) and its request hash's ([account, amount] sorted), comma-joined."""
    content = ",".join(f'[{a},"{u}",{m}]' for a, u, m in sorted(lines))
    request = ",".join(f"[{a},{m}]" for a, m in sorted((a, m) for a, _u, m in lines))
    return content, request


def next_transaction_id(connection: Connection) -> int:
    """The first id a load may use: above every transaction in the book."""
    return int(connection.execute(text("SELECT coalesce(max(id), 0) + 1 FROM ledger_transactions")).scalar())


class BookLoader:
    """Writes chunks of a generated book in the session's unit of work; the caller commits after
    each chunk (the loader remembers the chain's head between chunks)."""

    def __init__(self, session: Session, *, companion_tables: Sequence[str] = (),
                 write_companion: CompanionWriter | None = None):
        """``write_companion`` writes a chunk's companion into ``companion_tables`` (see the module)."""
        self.session = session
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.rows = 0  # transactions, entries and links written
        self._head: tuple[int, str] | None = None  # (seq, chain hash) of the last link written
        self._tables = (*LEDGER_TABLES, *companion_tables)
        self._write_companion = write_companion
        self._foreign_keys: list[tuple[str, str, str]] | None = None  # PostgreSQL: (table, name, definition)
        self.seconds = {"balances": 0.0, "foreign_keys": 0.0}  # what ``finish`` took, by part

    def write(self, transactions: Sequence[tuple], entries: Sequence[tuple], companion: Any = None) -> None:
        """``transactions`` (``TX_COLUMNS``, details as a dict, in id order, above everything in the
        book) and their ``entries`` (``ENTRY_COLUMNS``, grouped by transaction in the same order),
        with the chunk's ``companion`` if any."""
        if transactions:
            self._write(self._prepare(transactions, entries, companion))

    def write_all(self, chunks: Iterator[tuple], written: Callable[[int], None] | None = None) -> None:
        """Every chunk of ``chunks`` (``(transactions, entries)`` or ``(transactions, entries,
        companion)``, as ``write`` takes them), a commit after each; ``written(n)`` after each commit
        with its transactions. On PostgreSQL a thread draws and prepares the next chunk (the
        generator's Python work and the COPY text) while this one waits for the database."""
        prepared: queue.Queue = queue.Queue(maxsize=2)
        failed: list[BaseException] = []
        stop = threading.Event()

        def produce() -> None:
            try:
                for transactions, entries, *companion in chunks:
                    if stop.is_set():
                        return
                    if transactions:
                        prepared.put(self._prepare(transactions, entries, *companion))
            except BaseException as exc:  # handed to the writer, raised there
                failed.append(exc)
            finally:
                prepared.put(None)

        if not self.postgresql:  # SQLite: hashed in Python, one thread would gain nothing
            for transactions, entries, *companion in chunks:
                self.write(transactions, entries, *companion)
                self.session.commit()
                if written:
                    written(len(transactions))
            return
        producer = threading.Thread(target=produce, name="bookload-prepare", daemon=True)
        producer.start()
        try:
            while (chunk := prepared.get()) is not None:
                self._write(chunk)
                self.session.commit()
                if written:
                    written(chunk.count)
        finally:
            stop.set()
            while producer.is_alive():  # unblock a producer waiting on a full queue
                try:
                    prepared.get_nowait()
                except queue.Empty:
                    producer.join(0.1)
        if failed:
            raise failed[0]

    def _prepare(self, transactions, entries, companion=None) -> _Chunk | tuple:
        if not self.postgresql:
            return transactions, entries, companion
        details_text: dict[int, str] = {}  # a generator shares details objects between transactions
        own: dict[int, list[tuple[int, str, int]]] = {}
        rows = []
        for tx_id, account, unit, amount, balance, version in entries:
            own.setdefault(tx_id, []).append((account, unit, amount))
            if version is None:
                rows.append(f"{tx_id}\t{account}\t{unit}\t{amount}\t\\N\t\\N\n")
            else:
                rows.append(f"{tx_id}\t{account}\t{unit}\t{amount}\t{balance}\t{version}\n")
        staged = []
        for tx_id, key, kind, community, memo, actor, location, details, reverses, related, at in transactions:
            canonical = details_text.get(id(details))
            if canonical is None:
                canonical = details_text[id(details)] = copytext.field(chain.canonical_json(details or {}))
            lines, request_lines = _lines(own.get(tx_id, ()))
            staged.append(f"{tx_id}\t{copytext.field(key)}\t{copytext.field(kind)}\t{community}\t{copytext.field(memo)}\t{copytext.number(actor)}\t"
                          f"{copytext.field(location)}\t{canonical}\t{copytext.number(reverses)}\t{copytext.number(related)}\t{at.isoformat()}\t"
                          f"{lines}\t{request_lines}\n")
        if len(own) != len(transactions):
            raise ValueError("every transaction of a load needs entries")
        return _Chunk(len(transactions), len(entries),
                      "".join(staged).encode(), "".join(rows).encode(), companion)

    def _write(self, chunk) -> None:
        connection = self.session.connection()
        if not self.postgresql:
            transactions, entries, companion = chunk
            self._link(connection, self._write_sqlite(connection, transactions, entries))
            if companion is not None and self._write_companion:
                self._write_companion(connection, companion)
            self.rows += 2 * len(transactions) + len(entries)
            return
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": chain._SEAL_LOCK_ID})
        with connection.connection.driver_connection.cursor() as cursor:
            self._set_foreign_keys_aside(cursor)
            cursor.execute(_STAGE_PG)
            with cursor.copy("COPY ledger_load_transactions FROM STDIN") as copy:
                copy.write(chunk.transactions)
            with cursor.copy(f"COPY ledger_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
                copy.write(chunk.entries)
            hashed = cursor.execute(_INSERT_TRANSACTIONS_PG).fetchall()
            self._link(connection, sorted(hashed))
            if chunk.companion is not None and self._write_companion:
                self._write_companion(connection, chunk.companion)
            self._restore_foreign_keys(cursor, valid=False)
        self.rows += 2 * chunk.count + chunk.entry_count

    def _link(self, connection: Connection, hashed: list[tuple[int, str, dt.datetime]]) -> None:
        """Chain links of the written transactions ((id, content hash, time) in id order), each sealed
        at its transaction's own time."""
        seq, prev = self._head or _head(connection)
        links = []
        for tx_id, content, created_at in hashed:
            seq, linked = seq + 1, chain.link_hash(prev, content)
            links.append((seq, tx_id, prev, linked, created_at))
            prev = linked
        copy_rows(connection, "ledger_chain_links", LINK_COLUMNS, links)
        self._head = (seq, prev)

    def _set_foreign_keys_aside(self, cursor) -> None:
        if self._foreign_keys is None:
            self._foreign_keys = [(table, name, definition.removesuffix(" NOT VALID"))
                                  for table, name, definition
                                  in cursor.execute(_FOREIGN_KEYS_PG, (list(self._tables),)).fetchall()]
        for table, name, _definition in self._foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')

    def _restore_foreign_keys(self, cursor, *, valid: bool) -> None:
        for table, name, definition in self._foreign_keys or ():
            if valid:
                cursor.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')
            else:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID')

    def _write_sqlite(self, connection: Connection, transactions, entries) -> list[tuple[int, str, dt.datetime]]:
        lines: dict[int, list[tuple]] = {}
        for entry in entries:
            lines.setdefault(entry[0], []).append(entry[1:4])
        rows, hashed = [], []
        for tx_id, key, kind, community_id, memo, actor_id, location, details, reverses, related, at in transactions:
            details = details or {}
            own = lines[tx_id]
            content = chain.content_hash(
                idempotency_key=key, kind=kind, community_id=community_id, created_at=at, memo=memo,
                actor_id=actor_id, location=location, details=details, reverses_id=reverses, related_id=related,
                lines=own,
            )
            digest = request_hash(
                kind=kind, community_id=community_id, lines=sorted((a, m) for a, _u, m in own), memo=memo,
                actor_id=actor_id, location=location, details=details, reverses_id=reverses, related_id=related,
            )
            rows.append((tx_id, key, digest, kind, community_id, memo, actor_id, location,
                         chain.canonical_json(details), reverses, related, at, content))
            hashed.append((tx_id, content, at))
        copy_rows(connection, "ledger_transactions", (*TX_COLUMNS[:2], "request_hash", *TX_COLUMNS[2:],
                                                            "content_hash"), rows)
        copy_rows(connection, "ledger_entries", ENTRY_COLUMNS, entries)
        return hashed

    def finish(self, balances: dict[int, tuple[int, int]]) -> None:
        """The stored balance and version of the tracked accounts the load moved (account ->
        (balance, version)), the id sequences past the loaded rows, and (PostgreSQL) the foreign
        keys validated over everything written."""
        connection = self.session.connection()
        started = time.perf_counter()
        if not self.postgresql:
            connection.exec_driver_sql("UPDATE ledger_accounts SET balance = ?, version = ? WHERE id = ?",
                                       [(b, v, a) for a, (b, v) in balances.items()])
            self.seconds["balances"] += time.perf_counter() - started
            return
        connection.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS ledger_load_balances (id bigint, balance bigint, version bigint);"
            "TRUNCATE ledger_load_balances")
        copy_rows(connection, "ledger_load_balances", ("id", "balance", "version"),
                  ((a, b, v) for a, (b, v) in balances.items()))
        connection.exec_driver_sql(
            "UPDATE ledger_accounts a SET balance = b.balance, version = b.version FROM ledger_load_balances b "
            "WHERE a.id = b.id")
        self.seconds["balances"] += time.perf_counter() - started
        for table in ("ledger_transactions", "ledger_entries"):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        started = time.perf_counter()
        with connection.connection.driver_connection.cursor() as cursor:
            self._restore_foreign_keys(cursor, valid=True)
        self.seconds["foreign_keys"] += time.perf_counter() - started


def _head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(text("SELECT seq, chain_hash FROM ledger_chain_links ORDER BY seq DESC LIMIT 1")).first()
    return (0, chain.GENESIS_HASH) if row is None else (int(row[0]), row[1])
