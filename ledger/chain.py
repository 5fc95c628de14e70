"""Tamper evidence: a content hash per transaction and a hash chain sealed in commit order.

Writers only compute the content hash of their own transaction (no shared state, no lock). A
sealer (``seal``), run every few seconds by the scheduler, appends ``ChainLink`` rows in blocks
for transactions that have committed: ``chain_hash = sha256(prev_hash || content_hash)``. So the
chain never makes writers queue, every transaction is sealed within the sealer's period, and the
head ``(seq, chain_hash)`` can be published. Any later edit of a transaction or entry row changes
its recomputed content hash and breaks ``verify_chain``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .models import ChainLink, Transaction, utcnow

GENESIS_HASH = "0" * 64
# How far below the newest sealed transaction id the sealer looks for late committers: a
# transaction that started earlier may commit after later ones. Reconciliation checks everything.
SEAL_LOOKBACK_IDS = 100_000
# SPEC: every transaction is sealed within a minute of its commit.
SEAL_PROMISE = dt.timedelta(minutes=1)
_SEAL_LOCK_ID = 0x6C656467  # pg_advisory_xact_lock key: only sealers take it, never writers


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_content(
    *,
    idempotency_key: str,
    kind: str,
    community_id: int,
    created_at: dt.datetime,
    memo: str,
    actor_id: int | None,
    location: str | None,
    details: dict | None,
    reverses_id: int | None,
    related_id: int | None,
    lines: Iterable[tuple[int, str, int]],
) -> str:
    """A transaction's canonical content as text; ``lines`` are (account_id, unit, amount). Its
    SHA-256 is the content hash, so a statement can carry this text for anyone to re-hash."""
    body = {
        "key": idempotency_key,
        "kind": kind,
        "community": community_id,
        "at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "memo": memo,
        "actor": actor_id,
        "location": location,
        "details": details or {},
        "reverses": reverses_id,
        "related": related_id,
        "lines": sorted([int(a), str(u), int(m)] for a, u, m in lines),
    }
    return canonical_json(body)


def content_hash(**content) -> str:
    """SHA-256 of a transaction's canonical content (see ``canonical_content``)."""
    return hashlib.sha256(canonical_content(**content).encode()).hexdigest()


def link_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    seq: int
    chain_hash: str
    transaction_id: int | None


def head(session: Session) -> ChainHead:
    link = session.scalars(select(ChainLink).order_by(ChainLink.seq.desc()).limit(1)).first()
    if link is None:
        return ChainHead(0, GENESIS_HASH, None)
    return ChainHead(link.seq, link.chain_hash, link.transaction_id)


def seal(session: Session, *, limit: int = 5000) -> int:
    """Append chain links for up to ``limit`` committed, unsealed transactions; returns how many.

    Call inside a unit of work; safe to run concurrently (sealers serialise on an advisory lock on
    PostgreSQL and on the write lock on SQLite) and to run twice.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SEAL_LOCK_ID})
    current = head(session)
    floor = max((current.transaction_id or 0) - SEAL_LOOKBACK_IDS, 0)
    pending = session.execute(
        select(Transaction.id, Transaction.content_hash)
        .outerjoin(ChainLink, ChainLink.transaction_id == Transaction.id)
        .where(Transaction.id > floor, ChainLink.seq.is_(None))
        .order_by(Transaction.id)
        .limit(limit)
    ).all()
    prev, seq, now = current.chain_hash, current.seq, utcnow()
    rows = []
    for tx_id, chash in pending:
        seq += 1
        chained = link_hash(prev, chash)
        rows.append(
            {"seq": seq, "transaction_id": tx_id, "prev_hash": prev, "chain_hash": chained, "sealed_at": now}
        )
        prev = chained
    if rows:
        session.execute(ChainLink.__table__.insert(), rows)
    return len(rows)


def unsealed_count(
    session: Session, *, older_than: dt.datetime | None = None, among: Sequence[int] | None = None
) -> int:
    """Transactions without a chain link (created before ``older_than``); of the transactions
    ``among`` only, when given (read by key, a batch at a time)."""
    query = (
        select(func.count())
        .select_from(Transaction)
        .outerjoin(ChainLink, ChainLink.transaction_id == Transaction.id)
        .where(ChainLink.seq.is_(None))
    )
    if older_than is not None:
        query = query.where(Transaction.created_at < older_than)
    if among is None:
        return session.scalar(query) or 0
    return sum(session.scalar(query.where(Transaction.id.in_(among[i:i + 5000]))) or 0
               for i in range(0, len(among), 5000))
