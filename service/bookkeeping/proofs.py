"""A resident's statement as a document anyone can verify against the published head.

Every line carries its transaction's canonical content and, once its block is built, the Merkle
path to the block root; the document carries the block headers from the oldest proven line's block
to the newest block (the head). ``ledger.merkle.verify_statement`` (and the browser page and the
``greencoin verify-statement`` command) check it without the server. Format: docs/statement-proofs.md.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import Entry, Transaction, Unit
from ledger.merkle import FORMAT, block_headers, canonical_text, latest_block, proofs_for

from ..members.models import Member
from ..members.operations import member_wallet
from ..privacy import mask_name

MAX_LINES = 5_000  # years of a resident's history; the document stays a few megabytes at most


def statement_document(session: Session, member: Member) -> dict:
    wallets = {member_wallet(session, member, unit).id: unit.value for unit in Unit}
    rows = session.execute(
        select(Entry, Transaction)
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .where(Entry.account_id.in_(wallets))
        .order_by(Entry.id.desc())
        .limit(MAX_LINES)
    ).all()
    rows.reverse()
    tx_ids = [tx.id for _entry, tx in rows]
    all_entries: dict[int, list[Entry]] = {}
    for entry in session.scalars(select(Entry).where(Entry.transaction_id.in_(tx_ids)).order_by(Entry.id)):
        all_entries.setdefault(entry.transaction_id, []).append(entry)
    proofs = proofs_for(session, tx_ids) if tx_ids else {}
    lines = []
    for entry, tx in rows:
        proof = proofs.get(tx.id)
        lines.append({
            "transaction_id": tx.id,
            "account_id": entry.account_id,
            "unit": entry.unit,
            "amount": entry.amount,
            "version": entry.account_version,
            "balance_after": entry.balance_after,
            "kind": tx.kind,
            "at": tx.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),  # as in the content
            "canonical": canonical_text(tx, all_entries[tx.id]),
            "proof": {"block": proof.block, "index": proof.index, "path": proof.path} if proof else None,
        })
    proven_blocks = [line["proof"]["block"] for line in lines if line["proof"]]
    newest = latest_block(session)
    return {
        "format": FORMAT,
        "member": {"volunteer_number": member.volunteer_number, "name": mask_name(member.name)},
        "accounts": [{"id": account_id, "unit": unit} for account_id, unit in wallets.items()],
        "head": {"block": newest.number, "hash": newest.block_hash} if newest else None,
        "blocks": block_headers(session, min(proven_blocks)) if proven_blocks else [],
        "lines": lines,
    }


def merkle_head(session: Session) -> dict:
    newest = latest_block(session)
    if newest is None:
        return {"block": 0, "hash": ledger.merkle.GENESIS, "last_seq": 0, "created_at": None}
    return {"block": newest.number, "hash": newest.block_hash, "last_seq": newest.last_seq,
            "created_at": newest.created_at}
