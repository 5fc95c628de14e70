"""Bulk import from a scheme's old spreadsheet: residents and their opening balances.

Every row has its own result (``created`` / ``exists`` / ``error`` with the rule and the column, or
``empty`` for a balance row with nothing to post), so a bad row never blocks the others, and an
import can be run again: rows already imported report ``exists`` and create or post nothing twice
(residents by community + name + phone; balances by a ledger idempotency key per volunteer).

The work is set-based, ``BATCH_ROWS`` rows at a time (``residents.py``, ``balances.py``): rows are
checked in Python, staged by COPY (PostgreSQL) or ``executemany`` (SQLite) and looked up and written
with set-based SQL; balances go through ``ledger.bulk``. A batch is one savepoint, run again from
its look-ups if a concurrent writer took a unique value first. Results come back in sheet order,
a batch at a time, after the batch is written: the caller may commit between batches.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.db import UNIQUE_VIOLATION, sqlstate

from ..community.models import Community
from . import balances, residents

BATCH_ROWS = 5000
ATTEMPTS = 3


def iter_csv(handle) -> Iterator[dict]:
    """Rows of a UTF-8 CSV read from a text handle, headers lower-cased, empty cells dropped."""
    for line in csv.DictReader(handle):
        yield {k.strip().lower(): v.strip() for k, v in line.items() if k and v is not None and v.strip()}


def read_csv(text: str) -> list[dict]:
    """Rows of a UTF-8 CSV (a BOM from Excel is fine), headers lower-cased, empty cells dropped."""
    return list(iter_csv(io.StringIO(text.lstrip("\ufeff"))))


def _resolve_communities(session: Session, batch: list[tuple[int, dict]], communities: dict) -> None:
    """Add the batch's new community codes to ``communities`` (code -> id, None if unknown)."""
    codes = {row.get("community_code") for _, row in batch} - communities.keys() - {None}
    if codes:
        communities.update(dict.fromkeys(codes))
        rows = session.execute(select(Community.code, Community.id).where(Community.code.in_(codes)))
        communities.update({code: community_id for code, community_id in rows})


def _lost_unique_race(exc: BaseException) -> bool:
    """A unique value (a national ID digest, an idempotency key) taken by a concurrent writer after
    the batch's look-up: through SQLAlchemy, or from a COPY on the bare driver connection."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc, "sqlstate", None) == UNIQUE_VIOLATION or sqlstate(exc) == UNIQUE_VIOLATION


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for one batch: a batch makes ~100,000 objects that live
    until it is written, and each collection walked them all again (a third of an opening-balances
    import's Python time). They hold no cycles that matter; the next collection frees any."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _in_batches(session: Session, rows: Iterable[dict], handle) -> Iterator[dict]:
    numbered = enumerate(rows, start=1)
    communities: dict = {}
    while batch := list(islice(numbered, BATCH_ROWS)):
        _resolve_communities(session, batch, communities)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with _collector_paused(), session.begin_nested():
                    results = handle(batch, communities)
                break
            except Exception as exc:
                if attempt == ATTEMPTS or not _lost_unique_race(exc):
                    raise
        yield from sorted(results, key=lambda result: result["row"])


def import_residents(session: Session, rows: Iterable[dict]) -> Iterator[dict]:
    """Columns: community_code, name, phone, national_id, household, birth_date (YYYY-MM-DD).
    Residents of one ``household`` name in a community share a household."""
    return _in_batches(session, rows, lambda batch, communities: residents.import_batch(session, batch, communities))


def import_opening_balances(session: Session, rows: Iterable[dict], *, actor_id: int | None = None) -> Iterator[dict]:
    """Columns: community_code, volunteer_number, coins, hours_minutes, lifetime_hours_minutes, note.

    Coins and banked minutes arrive as ``opening_balance`` postings from community issuance.
    Lifetime volunteer minutes (for stars) arrive as ``opening_lifetime_hours``; banked minutes
    below the lifetime (hours already spent in the old scheme) are then taken back as
    ``opening_hours_spent``, which lowers the time bank but not lifetime hours.
    """
    sources: dict = {}  # community -> unit -> issuance account id
    return _in_batches(
        session, rows,
        lambda batch, communities: balances.import_batch(session, batch, communities, sources, actor_id=actor_id),
    )
