"""Reconciliation duration per million ledger entries, on SQLite and/or PostgreSQL; prints JSON.

    .venv/bin/python bench/reconcile_bench.py --entries 1000000 --backend sqlite --backend postgresql

Builds a fresh, migrated database, writes a sound book with raw bulk SQL (transactions of two
entries between member wallets and the community's issuance account, with their content hashes,
stored balances and a sealed hash chain), then times a full reconciliation, appends ``--new``
transactions and times an incremental one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import time

import psycopg
from scratch import scratch_database  # bench/scratch.py, beside this file
from sqlalchemy.engine import make_url

import ledger
from ledger import chain
from service.jobs import reconciliation
from service.jobs.runs import MANUAL
from service.migrate import upgrade

COMMUNITY_ID = 1


def _community_and_accounts(url: str, wallets: int) -> tuple[int, list[int]]:
    from service import create_app
    from service.community.operations import issuance_account
    from service.extensions import db
    from service.flows import open_community

    app = create_app({"DATABASE_URL": url, "REDIS_URL": None, "GREENCOIN_ENV": "development"})
    with app.app_context():
        issuance = db.run(
            lambda s: issuance_account(s, open_community(s, code="BENCH", name="基准社区").id, ledger.Unit.COIN).id
        )
        engine = db.engine
        with engine.begin() as connection:
            now = ledger.utcnow()
            connection.execute(
                ledger.Account.__table__.insert(),
                [
                    {"code": f"member_wallet:{100000 + i}:COIN", "type": "member_wallet", "unit": "COIN",
                     "community_id": COMMUNITY_ID, "owner_id": 100000 + i, "allow_negative": False,
                     "track_balance": True, "balance": 0, "version": 0, "created_at": now}
                    for i in range(wallets)
                ],
            )
            ids = [row[0] for row in connection.exec_driver_sql(
                "SELECT id FROM ledger_accounts WHERE type = 'member_wallet' ORDER BY id")]
        engine.dispose()
    return issuance, ids


def _book(count: int, first_tx: int, first_entry: int, first_seq: int, prev_hash: str, issuance: int,
          wallets: list[int], state: dict, created: dt.datetime, rng: random.Random):
    """Rows for ``count`` transactions; ``state`` carries wallet balances/versions between calls."""
    txs, entries, links = [], [], []
    entry_id = first_entry
    for n in range(count):
        tx_id, seq = first_tx + n, first_seq + n
        wallet, amount = rng.choice(wallets), rng.randint(1, 50)
        at = created + dt.timedelta(microseconds=n)
        key = f"bench:{tx_id}"
        content = chain.content_hash(
            idempotency_key=key, kind="adjustment", community_id=COMMUNITY_ID, created_at=at, memo="",
            actor_id=None, location=None, details={}, reverses_id=None, related_id=None,
            lines=[(wallet, "COIN", amount), (issuance, "COIN", -amount)],
        )
        balance, version = state.get(wallet, (0, 0))
        balance, version = balance + amount, version + 1
        state[wallet] = (balance, version)
        txs.append((tx_id, key, "0" * 64, "adjustment", COMMUNITY_ID, "", "{}", at, content))
        entries.append((entry_id, tx_id, wallet, "COIN", amount, balance, version))
        entries.append((entry_id + 1, tx_id, issuance, "COIN", -amount, None, None))
        entry_id += 2
        linked = chain.link_hash(prev_hash, content)
        links.append((seq, tx_id, prev_hash, linked, at))
        prev_hash = linked
    return txs, entries, links, prev_hash


TX_COLUMNS = "id, idempotency_key, request_hash, kind, community_id, memo, details, created_at, content_hash"
ENTRY_COLUMNS = "id, transaction_id, account_id, unit, amount, balance_after, account_version"
LINK_COLUMNS = "seq, transaction_id, prev_hash, chain_hash, sealed_at"


def _write(url: str, txs, entries, links, state: dict) -> None:
    balances = [(b, v, a) for a, (b, v) in state.items()]
    if url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(url).database)
        with connection:
            connection.executemany(f"INSERT INTO ledger_transactions ({TX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                                   [(*t[:7], t[7].replace(tzinfo=None).isoformat(sep=" "), t[8]) for t in txs])
            connection.executemany(f"INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?)", entries)
            connection.executemany(f"INSERT INTO ledger_chain_links ({LINK_COLUMNS}) VALUES (?,?,?,?,?)",
                                   [(*link[:4], link[4].replace(tzinfo=None).isoformat(sep=" ")) for link in links])
            connection.executemany("UPDATE ledger_accounts SET balance = ?, version = ? WHERE id = ?", balances)
        connection.close()
        return
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        for table, columns, rows in (
            ("ledger_transactions", TX_COLUMNS, txs),
            ("ledger_entries", ENTRY_COLUMNS, entries),
            ("ledger_chain_links", LINK_COLUMNS, links),
        ):
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cursor.executemany("UPDATE ledger_accounts SET balance = %s, version = %s WHERE id = %s", balances)
        for table in ("ledger_transactions", "ledger_entries"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        cursor.execute("ANALYZE")


def bench(backend: str, entries: int, new: int, wallets: int, seed: int) -> dict:
    rng = random.Random(seed)
    with scratch_database(backend, "bench") as url:
        upgrade(url)
        issuance, wallet_ids = _community_and_accounts(url, wallets)
        state: dict = {}
        clock = time.perf_counter()
        count = entries // 2
        old = ledger.utcnow() - dt.timedelta(days=1)
        txs, rows, links, head = _book(count, 1, 1, 1, chain.GENESIS_HASH, issuance, wallet_ids, state, old, rng)
        _write(url, txs, rows, links, state)
        generated = time.perf_counter() - clock

        engine = ledger.make_engine(url)
        factory = ledger.make_session_factory(engine)
        full = reconciliation.run_reconciliation(factory, engine, mode="full", trigger=MANUAL)
        recent = ledger.utcnow() - dt.timedelta(minutes=20)
        txs, rows, links, _ = _book(new, count + 1, 2 * count + 1, count + 1, head, issuance, wallet_ids, state,
                                    recent, rng)
        _write(url, txs, rows, links, state)
        incremental = reconciliation.run_reconciliation(factory, engine, mode="incremental", trigger=MANUAL)
        engine.dispose()
    per_million = 1_000_000 / entries
    return {
        "backend": backend,
        "entries": entries,
        "accounts": wallets + 1,
        "generate_seconds": round(generated, 1),
        "full": {"status": full.status, "seconds": full.duration_ms / 1000,
                 "seconds_per_million_entries": round(full.duration_ms / 1000 * per_million, 2)},
        "incremental": {"status": incremental.status, "mode": incremental.mode, "new_entries": 2 * new,
                        "seconds": incremental.duration_ms / 1000},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=10_000, help="transactions added before the incremental run")
    parser.add_argument("--wallets", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    results = [bench(b, args.entries, args.new, args.wallets, args.seed) for b in args.backend or ["sqlite"]]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
