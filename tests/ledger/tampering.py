"""What an attacker with write access to the database does to the books, for the tests that must
catch it: SQL past the append-only triggers, and a sealed transaction rewritten with the hash chain
re-linked over it, so that only the Merkle blocks still tell."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import ledger
from ledger import chain, merkle
from ledger.db import APPEND_ONLY_TABLES, drop_append_only_ddl
from ledger.models import ChainLink, Entry, Transaction


def tamper(url: str, sql: str, **params) -> None:
    """Run ``sql`` straight against the database at ``url``, past every append-only trigger
    (the Merkle blocks' too)."""
    engine = ledger.make_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for statement in drop_append_only_ddl("sqlite", (*APPEND_ONLY_TABLES, "ledger_merkle_blocks")):
                connection.execute(text(statement))
        connection.execute(text(sql), params)
    engine.dispose()


def rewrite_and_relink(session: Session, run: Callable[..., None], seq: int, memo: str) -> int:
    """Give the transaction sealed at link ``seq`` another memo, store its new content hash and
    re-link every chain link from there (``run`` executes the SQL); returns the transaction's id."""
    links = session.execute(select(ChainLink.seq, ChainLink.transaction_id, ChainLink.chain_hash)
                            .where(ChainLink.seq >= seq - 1).order_by(ChainLink.seq)).all()
    content = dict(session.execute(select(Transaction.id, Transaction.content_hash)).all())
    victim = next(link for link in links if link.seq == seq)
    tx = session.get(Transaction, victim.transaction_id)
    entries = session.scalars(select(Entry).where(Entry.transaction_id == tx.id)).all()
    session.expunge_all()
    session.rollback()  # SQLite: the read took the write lock (BEGIN IMMEDIATE) that ``run`` needs
    tx.memo = memo
    content[tx.id] = hashlib.sha256(merkle.canonical_text(tx, entries).encode()).hexdigest()
    run("UPDATE ledger_transactions SET memo = :m, content_hash = :h WHERE id = :id",
        m=memo, h=content[tx.id], id=tx.id)
    prev = links[0].chain_hash if seq > 1 else chain.GENESIS_HASH
    for link in links:
        if link.seq < seq:
            continue
        relinked = chain.link_hash(prev, content[link.transaction_id])
        run("UPDATE ledger_chain_links SET prev_hash = :p, chain_hash = :c WHERE seq = :s",
            p=prev, c=relinked, s=link.seq)
        prev = relinked
    return tx.id
