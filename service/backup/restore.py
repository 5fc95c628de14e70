"""Restoring a backup into an empty, migrated database.

The file is verified first (``verify_backup``: hashes, chain, sums, balances, counts, head) and
refused on any discrepancy, and the database must hold no rows at all, so a restore never mixes
two books. Every row is then inserted in one transaction in the order the export wrote the tables
(parents first), with the values the export wrote (ids, timestamps, hashes); a column that points
forward in a cycle of foreign keys (a household's head) is filled in once its target exists. On
PostgreSQL the id sequences are moved past the restored ids. Afterwards the book reconciles and
its chain head is the file's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from sqlalchemy import Date, DateTime, Engine, Table, func, select, text, update

from ledger.models import Base
from ledger.verify import Discrepancy

from ..domains import import_models
from ..errors import Conflict, Invalid
from .operations import verify_backup

BATCH = 1000


class BackupRefused(Invalid):
    """The file does not verify; nothing was written."""

    def __init__(self, found: list[Discrepancy]):
        super().__init__(f"the backup does not verify: {len(found)} discrepancies", code="backup_invalid")
        self.found = found


def _tables() -> dict[str, Table]:
    import_models()
    return {table.name: table for table in Base.metadata.sorted_tables}


def _deferred_columns(table: Table) -> set[str]:
    """Columns whose foreign key closes a cycle (``use_alter``): inserted empty, set afterwards."""
    return {fk.parent.name for fk in table.foreign_keys if fk.use_alter}


def _converters(table: Table) -> dict[str, Callable]:
    converters: dict[str, Callable] = {}
    for column in table.columns:
        if isinstance(column.type, DateTime) or getattr(column.type, "impl", None) is not None and isinstance(
            column.type.impl, DateTime
        ):
            converters[column.name] = dt.datetime.fromisoformat
        elif isinstance(column.type, Date):
            converters[column.name] = dt.date.fromisoformat
    return converters


def _convert(row: dict, converters: dict[str, Callable]) -> dict:
    return {k: (converters[k](v) if v is not None and k in converters else v) for k, v in row.items()}


def ensure_empty(connection, tables: dict[str, Table]) -> None:
    present = {name for name in tables if connection.dialect.has_table(connection, name)}
    missing = sorted(set(tables) - present)
    if missing:
        raise Conflict("the database is not migrated to this version: run greencoin migrate first",
                       code="database_not_migrated", missing=missing[:10])
    for name, table in tables.items():
        if connection.execute(select(func.count()).select_from(table)).scalar():
            raise Conflict(f"the database is not empty (table {name} has rows): restore only into an empty one",
                           code="database_not_empty", table=name)


def restore_backup(engine: Engine, path: str, *, progress: Callable[[str, int], None] | None = None) -> dict:
    """Restore ``path`` into the empty database behind ``engine``; returns the file's header."""
    with open(path, encoding="utf-8") as lines:
        header, found = verify_backup(lines)
    if found:
        raise BackupRefused(found)
    tables = _tables()
    unknown = sorted(set(header["counts"]) - set(tables))
    if unknown:
        raise Invalid("the backup has tables this version does not know", code="backup_unknown_tables", tables=unknown)
    with engine.begin() as connection:
        ensure_empty(connection, tables)
        deferred: list[tuple[Table, str, object, dict]] = []
        batch: list[dict] = []
        current: Table | None = None

        def flush() -> None:
            if current is not None and batch:
                connection.execute(current.insert(), batch)
                if progress:
                    progress(current.name, len(batch))
                batch.clear()

        with open(path, encoding="utf-8") as lines:
            next(lines)  # the header
            converters: dict[str, Callable] = {}
            later: set[str] = set()
            for line in lines:
                record = json.loads(line)
                table = tables[record["t"]]
                if table is not current:
                    flush()
                    current, converters, later = table, _converters(table), _deferred_columns(table)
                row = _convert(record["r"], converters)
                for column in later:
                    if row.get(column) is not None:
                        key = {c.name: row[c.name] for c in table.primary_key.columns}
                        deferred.append((table, column, row[column], key))
                        row[column] = None
                batch.append(row)
                if len(batch) >= BATCH:
                    flush()
            flush()
        for table, column, value, key in deferred:
            connection.execute(
                update(table).where(*[table.c[name] == v for name, v in key.items()]).values({column: value})
            )
        if connection.dialect.name == "postgresql":
            _advance_sequences(connection, tables.values())
    return header


def _advance_sequences(connection, tables) -> None:
    """Move each serial id sequence past the highest restored id, so new rows get fresh ids."""
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or not key[0].autoincrement or key[0].type.python_type is not int:
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": key[0].name}
        ).scalar()
        if sequence:
            connection.execute(
                text(f"SELECT setval(:s, COALESCE((SELECT MAX({key[0].name}) FROM {table.name}), 0) + 1, false)"),
                {"s": sequence},
            )
