"""Fetching one row by id for an operation: not found is a 404, and a row about to change is locked."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from .errors import NotFound

M = TypeVar("M")


def get_row(session: Session, model: type[M], row_id: int, *, what: str, lock: bool = False) -> M:
    """The ``model`` row with this id, or ``NotFound("<what> not found")``.

    ``lock`` reads it afresh under a row lock (FOR UPDATE on PostgreSQL; on SQLite the unit of
    work already holds the write lock), so concurrent changes of one row queue and see each other.
    """
    if lock:
        query = select(model).where(model.id == row_id).with_for_update().execution_options(populate_existing=True)
        row = session.scalars(query).first()
    else:
        row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def insert_rows_pg(table: Table, rows: list[dict]):
    """A multi-row INSERT for PostgreSQL that SQLAlchemy compiles once: ``INSERT … SELECT
    unnest(:a), unnest(:b) …`` with one array per column. (A VALUES list of n rows is not cacheable
    and was compiled anew on every basket: a third of its CPU.) Every row has the same keys."""
    columns = list(rows[0])
    arrays = [
        func.unnest(bindparam(f"{table.name}_{name}", [row[name] for row in rows], type_=ARRAY(table.c[name].type)))
        .label(name)
        for name in columns
    ]
    return insert(table).from_select(columns, select(*arrays))
