"""Per-account lockout after repeated failed sign-ins, independent of the client's address.

After ``LOGIN_LOCKOUT_AFTER`` failures in a row (default 10) the account is locked for
``LOGIN_LOCKOUT_SECONDS`` (default 60 s), doubling with every further failure up to a day. While
locked, no password or PIN is even checked (the right one is refused too), so a distributed guesser
gets no answer and no argon2 time. The count lives in the database (``sign_in_guards``), so every
gunicorn worker sees it without Redis; the row is locked while a sign-in checks it, so parallel
guesses are counted one by one. A lockout is written to the audit log for the administrator.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..audit.operations import record_audit
from .models import SignInGuard

log = logging.getLogger(__name__)
MAX_LOCK = dt.timedelta(days=1)


@dataclass(frozen=True)
class Account:
    """What a sign-in resolved to: the guard key, and for a real account its audit target."""

    key: str
    target_type: str | None = None
    target_id: int | None = None
    community_id: int | None = None


@dataclass(frozen=True)
class GuardVerdict:
    ok: bool
    locked_until: dt.datetime | None = None


def lock_duration(failures: int, *, after: int, base_seconds: int) -> dt.timedelta | None:
    """How long the account is locked after ``failures`` in a row (None: not locked)."""
    if failures < after:
        return None
    doublings = min(failures - after, 20)
    return min(dt.timedelta(seconds=base_seconds * 2**doublings), MAX_LOCK)


def locked_until(session: Session, key: str) -> dt.datetime | None:
    until = session.scalar(select(SignInGuard.locked_until).where(SignInGuard.account_key == key))
    return until if until and until > utcnow() else None


def guarded_check(session: Session, account: Account, check: Callable[[], bool]) -> GuardVerdict:
    """Run ``check`` (the password or PIN comparison) unless the account is locked; count the result."""
    guard = session.scalars(
        select(SignInGuard).where(SignInGuard.account_key == account.key).with_for_update()
    ).first()
    now = utcnow()
    if guard is not None and guard.locked_until and guard.locked_until > now:
        return GuardVerdict(ok=False, locked_until=guard.locked_until)
    if check():
        if guard is not None and (guard.failures or guard.locked_until):
            guard.failures, guard.locked_until = 0, None
        return GuardVerdict(ok=True)
    if guard is None:
        guard = SignInGuard(account_key=account.key, failures=0)
        session.add(guard)
    guard.failures += 1
    config = current_app.config
    duration = lock_duration(
        guard.failures, after=config["LOGIN_LOCKOUT_AFTER"], base_seconds=config["LOGIN_LOCKOUT_SECONDS"]
    )
    guard.locked_until = now + duration if duration else None
    session.flush()
    if duration:
        _record_lockout(session, account, guard)
    return GuardVerdict(ok=False, locked_until=guard.locked_until)


def _record_lockout(session: Session, account: Account, guard: SignInGuard) -> None:
    if account.target_type is None:
        log.warning("sign-in locked for an unknown account after %d failures", guard.failures)
        return
    log.warning("sign-in locked for %s %s after %d failures", account.target_type, account.target_id, guard.failures)
    record_audit(
        session,
        principal=None,
        action=f"{account.target_type}.sign_in_locked",
        target_type=account.target_type,
        target_id=account.target_id,
        community_id=account.community_id,
        after={"failures": guard.failures, "locked_until": guard.locked_until},
    )


def clear_lockout(session: Session, key: str) -> None:
    """An administrator's password reset (or a PIN reset) lifts the lock."""
    guard = session.scalars(select(SignInGuard).where(SignInGuard.account_key == key)).first()
    if guard is not None:
        guard.failures, guard.locked_until = 0, None
