"""Fetching one row by id for an operation (not found is a 404, a row about to change is locked),
the first row of the hottest reads, and multi-row writes as one statement on PostgreSQL."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ledger.db import execute_hot

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


def first_row(session: Session, statement, params: dict):
    """The first row (a tuple) of ``statement``, a read built once at import, or None: for the reads
    every request makes (the sign-in's token look-up, a resident's balance). On PostgreSQL it is sent
    straight through psycopg (``ledger.db.send_straight``); elsewhere through SQLAlchemy."""
    return execute_hot(session.connection(), statement, params).fetchone()


def unnest_select(table: Table, columns: tuple[str, ...]):
    """Rows for a multi-row INSERT on PostgreSQL (``INSERT … SELECT`` this), the same statement for any
    number of rows: ``SELECT unnest(:<table>_<column>) …`` with one array per column, bound at
    execution by ``unnest_params``. (A VALUES list of n rows is another statement for every n.)"""
    return select(*[
        func.unnest(bindparam(f"{table.name}_{name}", type_=ARRAY(table.c[name].type))).label(name)
        for name in columns
    ])


def unnest_params(table: Table, columns: tuple[str, ...], rows: list[dict]) -> dict:
    """The arrays ``unnest_select(table, columns)`` takes for these rows."""
    return {f"{table.name}_{name}": [row[name] for row in rows] for name in columns}
