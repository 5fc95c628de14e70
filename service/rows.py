"""Fetching one row by id for an operation: not found is a 404, and a row about to change is locked."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
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
