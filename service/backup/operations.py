"""A portable backup: every table as JSON lines, and a check of the ledger using only the file.

The first line is a header with the row count of every table and the sealed chain head; each
further line is ``{"t": table, "r": row}``. ``verify_backup`` needs no database: it recomputes
every transaction's content hash and every chain link, checks that each transaction and each unit
sums to zero and that stored balances equal their entries, and compares counts and the chain head
with the header, so a backup can be trusted (or not) before it is ever restored.

What it holds of people: names, phones, card codes, birth dates (so the file is as confidential as
the database), argon2 hashes of PINs and passwords, sha256 digests of random API tokens, and of
national ID numbers only the keyed digest (HMAC with ``GREENCOIN_PII_KEY``, which is never in the
database or the file). The last-four mask is left out (``REDACTED``): beside the birth date and the
community's region code it would give the whole number. Idempotency hashes are keyed too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from ledger import chain
from ledger.models import Base
from ledger.verify import Discrepancy

from ..domains import import_models

FORMAT = "greencoin-backup/1"
# Columns written as null: with what else the file holds they would let a national ID be recovered.
REDACTED = {"members": ("national_id_masked",)}


def _plain(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def export_backup(session: Session, out: IO[str], *, progress: Callable[[str, int], None] | None = None) -> dict:
    """Write every table to ``out``; returns the header (counts and chain head)."""
    import_models()
    tables = Base.metadata.sorted_tables
    head = ledger.chain_head(session)
    counts = {table.name: session.scalar(_count(table)) for table in tables}
    header = {
        "format": FORMAT,
        "created_at": ledger.utcnow().isoformat(),
        "counts": counts,
        "chain_head": {"seq": head.seq, "chain_hash": head.chain_hash, "transaction_id": head.transaction_id},
        "redacted": {table: list(columns) for table, columns in REDACTED.items()},
    }
    out.write(json.dumps(header, ensure_ascii=False) + "\n")
    for table in tables:
        key = list(table.primary_key.columns)
        rows = session.execute(select(table).order_by(*key).execution_options(yield_per=5000))
        redacted = REDACTED.get(table.name, ())
        for row in rows.mappings():
            plain = {k: None if k in redacted else _plain(v) for k, v in row.items()}
            out.write(json.dumps({"t": table.name, "r": plain}, ensure_ascii=False) + "\n")
        if progress:
            progress(table.name, counts[table.name])
    return header


def _count(table):
    return select(func.count()).select_from(table)


def verify_backup(lines: IO[str]) -> tuple[dict, list[Discrepancy]]:
    """Check a backup file on its own; returns (header, discrepancies)."""
    header = json.loads(next(lines))
    if header.get("format") != FORMAT:
        return header, [Discrepancy("format", "header", FORMAT, header.get("format"))]
    found: list[Discrepancy] = []
    counts: dict[str, int] = defaultdict(int)
    transactions: dict[int, dict] = {}
    entries: dict[int, list[dict]] = defaultdict(list)
    links: list[dict] = []
    accounts: dict[int, dict] = {}
    for line in lines:
        record = json.loads(line)
        table, row = record["t"], record["r"]
        counts[table] += 1
        if table == "ledger_transactions":
            transactions[row["id"]] = row
        elif table == "ledger_entries":
            entries[row["transaction_id"]].append(row)
        elif table == "ledger_chain_links":
            links.append(row)
        elif table == "ledger_accounts":
            accounts[row["id"]] = row

    for table, expected in header["counts"].items():
        if counts.get(table, 0) != expected:
            found.append(Discrepancy("row_count", f"table:{table}", expected, counts.get(table, 0)))

    unit_totals: dict[str, int] = defaultdict(int)
    account_totals: dict[int, int] = defaultdict(int)
    for tx_id, tx in transactions.items():
        sums: dict[str, int] = defaultdict(int)
        for entry in entries.get(tx_id, []):
            sums[entry["unit"]] += entry["amount"]
            unit_totals[entry["unit"]] += entry["amount"]
            account_totals[entry["account_id"]] += entry["amount"]
        found += [Discrepancy("transaction_sum", f"transaction:{tx_id}:{u}", 0, s) for u, s in sums.items() if s]
        recomputed = chain.content_hash(
            idempotency_key=tx["idempotency_key"],
            kind=tx["kind"],
            community_id=tx["community_id"],
            created_at=dt.datetime.fromisoformat(tx["created_at"]),
            memo=tx["memo"],
            actor_id=tx["actor_id"],
            location=tx["location"],
            details=tx["details"],
            reverses_id=tx["reverses_id"],
            related_id=tx["related_id"],
            lines=[(e["account_id"], e["unit"], e["amount"]) for e in entries.get(tx_id, [])],
        )
        if recomputed != tx["content_hash"]:
            found.append(Discrepancy("content_hash", f"transaction:{tx_id}", tx["content_hash"], recomputed))
    found += [Discrepancy("unit_sum", f"unit:{u}", 0, s) for u, s in unit_totals.items() if s]
    for account_id, account in accounts.items():
        if account["track_balance"] and account["balance"] != account_totals.get(account_id, 0):
            found.append(Discrepancy("stored_balance", f"account:{account_id}", account_totals.get(account_id, 0), account["balance"]))

    prev = chain.GENESIS_HASH
    for expected_seq, link in enumerate(sorted(links, key=lambda row: row["seq"]), start=1):
        tx = transactions.get(link["transaction_id"])
        if link["seq"] != expected_seq or tx is None:
            found.append(Discrepancy("chain_sequence", f"chain:{link['seq']}", expected_seq, link["seq"]))
            break
        if link["prev_hash"] != prev or link["chain_hash"] != chain.link_hash(prev, tx["content_hash"]):
            found.append(Discrepancy("chain_hash", f"chain:{link['seq']}", chain.link_hash(prev, tx["content_hash"]), link["chain_hash"]))
        prev = link["chain_hash"]
    if prev != header["chain_head"]["chain_hash"]:
        found.append(Discrepancy("chain_head", "chain", header["chain_head"]["chain_hash"], prev))
    return header, found
