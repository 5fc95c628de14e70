"""What ``ledger.post`` must know of an account besides its balance: its unit, community, overdraft rule
and whether it keeps a stored balance. These never change, so they are cached per process and engine;
a caller that has just read them anyway (the basket's one read) hands them over with
``remember_shapes`` and the posting reads nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .models import Account


@dataclass(frozen=True)
class AccountShape:
    """The immutable attributes of an account, cached per process (they never change)."""

    id: int
    unit: str
    community_id: int
    allow_negative: bool
    track_balance: bool


# Per engine: account id -> shape. Safe because the shape never changes and account ids are never
# reused (AUTOINCREMENT on SQLite, sequences on PostgreSQL), even after a rolled-back insert.
_shapes: WeakKeyDictionary[Engine, dict[int, AccountShape]] = WeakKeyDictionary()
_MAX_CACHED = 500_000


def remember_shapes(session: Session, shapes: Sequence[AccountShape]) -> None:
    """Cache account shapes a caller has just read anyway (saves ``post`` its look-up)."""
    cache = _shapes.setdefault(session.get_bind(), {})
    if len(cache) < _MAX_CACHED:
        cache.update((shape.id, shape) for shape in shapes)


def account_shapes(session: Session, ids: Sequence[int]) -> dict[int, AccountShape]:
    """The shapes of these accounts, from the cache or in one query; an unknown id is simply absent."""
    cache = _shapes.setdefault(session.get_bind(), {})
    found = {i: cache[i] for i in ids if i in cache}
    missing = [i for i in ids if i not in found]
    if missing:
        rows = session.execute(
            select(
                Account.id, Account.unit, Account.community_id, Account.allow_negative, Account.track_balance
            ).where(Account.id.in_(missing))
        ).all()
        for row in rows:
            shape = AccountShape(*row)
            found[shape.id] = shape
            if len(cache) < _MAX_CACHED:
                cache[shape.id] = shape
    return found
