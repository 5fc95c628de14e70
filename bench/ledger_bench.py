"""Ledger throughput beside a raw-SQL baseline, and balance reads at 10 k and 1 M entries.

Prints one JSON line per run. A posting run times ``ledger.post`` in its own committed unit of
work (``ledger.run_in_transaction``) and, in the same run, a raw-SQL baseline that writes the same
rows (transaction row, entries, conditional balance updates in id order, same hashes) with one
database transaction per posting through the bare driver; ``ratio`` is ours / raw.

Scenarios: ``award_hot`` (every writer awards from one community's issuance account),
``award_spread`` (each writer from its own community's issuance account: the no-hot-spot
reference) and ``transfer`` (wallet to wallet). Writers: 1 and 4 threads.

    .venv/bin/python bench/ledger_bench.py            # both databases, full size
    .venv/bin/python bench/ledger_bench.py --quick    # a short run (1 M becomes 100 k)

Uses its own databases: PostgreSQL ``greencoin_bench`` (dropped and recreated) and a SQLite
file in /tmp.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from sqlalchemy import text  # noqa: E402

import ledger  # noqa: E402
from ledger import AccountType, Unit, chain  # noqa: E402
from ledger.posting import request_hash  # noqa: E402

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_DB = "greencoin_bench"
SQLITE_PATH = "/tmp/greencoin_bench.db"
WRITERS = (1, 4)
SCENARIOS = ("award_hot", "award_spread", "transfer")
FUNDING = 10**9


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


# -- databases ---------------------------------------------------------------------------


def fresh_database(backend: str) -> str:
    from service.migrate import upgrade

    if backend == "postgresql":
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{PG_DB}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(SQLITE_PATH + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{SQLITE_PATH}"
    upgrade(url)
    return url


class RawConnection:
    """The bare driver connection a raw baseline writer uses (one per thread)."""

    def __init__(self, backend: str):
        self.backend = backend
        if backend == "postgresql":
            self.conn = psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={PG_DB}")
            self.mark = "%s"
        else:
            self.conn = sqlite3.connect(
                SQLITE_PATH, isolation_level=None, timeout=30, check_same_thread=False
            )
            for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.mark = "?"

    def sql(self, statement: str) -> str:
        return statement.replace("%s", self.mark)

    def close(self):
        self.conn.close()


# -- the postings ------------------------------------------------------------------------


class Book:
    """Accounts of the bench: communities with an issuance account and wallets each."""

    def __init__(self, factory, communities: int, wallets_per_community: int):
        def work(session):
            made = []
            for c in range(1, communities + 1):
                community_id = 1000 + c
                issuance = ledger.open_account(
                    session,
                    type=AccountType.ISSUANCE,
                    unit=Unit.COIN,
                    community_id=community_id,
                    owner_id=community_id,
                )
                wallets = [
                    ledger.open_account(
                        session,
                        type=AccountType.MEMBER_WALLET,
                        unit=Unit.COIN,
                        community_id=community_id,
                        owner_id=community_id * 100_000 + w,
                    )
                    for w in range(wallets_per_community)
                ]
                made.append((community_id, issuance.id, [w.id for w in wallets]))
            return made

        self.communities = ledger.run_in_transaction(factory, work)
        # Fund every wallet once so transfers never run dry.
        for community_id, issuance, wallets in self.communities:
            lines = [ledger.Line(w, FUNDING) for w in wallets] + [
                ledger.Line(issuance, -FUNDING * len(wallets))
            ]
            ledger.run_in_transaction(
                factory,
                lambda s, lines=lines, c=community_id: ledger.post(
                    s, lines=lines, idempotency_key=f"fund:{c}", kind="opening_balance", community_id=c
                ),
            )
        self.tracked = {w for _, _, wallets in self.communities for w in wallets}

    def plan(self, scenario: str, writer: int, count: int, rng: random.Random):
        """(community_id, [(account_id, amount), ...]) for each posting a writer makes."""
        community_id, issuance, wallets = self.communities[writer + 1 if scenario == "award_spread" else 0]
        postings = []
        for _ in range(count):
            if scenario == "transfer":
                source, target = rng.sample(wallets, 2)
                amount = rng.randint(1, 50)
                postings.append((community_id, [(source, -amount), (target, amount)]))
            else:
                amount = rng.randint(1, 50)
                postings.append((community_id, [(rng.choice(wallets), amount), (issuance, -amount)]))
        return postings


def post_ours(factory, community_id, lines, key):
    ledger.run_in_transaction(
        factory,
        lambda s: ledger.post(
            s,
            lines=[ledger.Line(a, m) for a, m in lines],
            idempotency_key=key,
            kind="bench",
            community_id=community_id,
        ),
    )


def post_raw(raw: RawConnection, tracked: set[int], units: dict[int, str], community_id, lines, key):
    """The same rows as ledger.post, written with hand-written SQL in one database transaction."""
    created_at = ledger.utcnow()
    digest = request_hash(
        kind="bench",
        community_id=community_id,
        lines=sorted(lines),
        memo="",
        actor_id=None,
        location=None,
        details={},
        reverses_id=None,
        related_id=None,
    )
    chash = chain.content_hash(
        idempotency_key=key,
        kind="bench",
        community_id=community_id,
        created_at=created_at,
        memo="",
        actor_id=None,
        location=None,
        details={},
        reverses_id=None,
        related_id=None,
        lines=[(a, units[a], m) for a, m in lines],
    )
    stamp = created_at if raw.backend == "postgresql" else created_at.replace(tzinfo=None).isoformat(" ")
    for attempt in range(20):
        cur = raw.conn.cursor()
        try:
            if raw.backend == "sqlite":
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(
                raw.sql(
                    "INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, community_id, memo, details,"
                    " created_at, content_hash) VALUES (%s, %s, 'bench', %s, '', '{}', %s, %s)"
                    " ON CONFLICT DO NOTHING RETURNING id"
                ),
                (key, digest, community_id, stamp, chash),
            )
            tx_id = cur.fetchone()[0]
            after = {}
            for account, amount in sorted(lines):
                if account not in tracked:
                    continue
                cur.execute(
                    raw.sql(
                        "UPDATE ledger_accounts SET balance = balance + %s, version = version + 1"
                        " WHERE id = %s AND (allow_negative OR balance + %s >= 0) RETURNING balance, version"
                    ),
                    (amount, account, amount),
                )
                row = cur.fetchone()
                if row is None:
                    raise RuntimeError("insufficient balance in the raw baseline")
                after[account] = row
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(lines))
            params = []
            for account, amount in lines:
                balance, version = after.get(account, (None, None))
                params += [tx_id, account, units[account], amount, balance, version]
            cur.execute(
                raw.sql(
                    "INSERT INTO ledger_entries (transaction_id, account_id, unit, amount, balance_after,"
                    f" account_version) VALUES {values}"
                ),
                params,
            )
            raw.conn.commit() if raw.backend == "postgresql" else cur.execute("COMMIT")
            return
        except (
            psycopg.errors.DeadlockDetected,
            psycopg.errors.SerializationFailure,
            sqlite3.OperationalError,
        ):
            raw.conn.rollback() if raw.backend == "postgresql" else raw.conn.execute("ROLLBACK")
            time.sleep(random.uniform(0, 0.001 * 2**attempt))
        finally:
            cur.close()
    raise RuntimeError("raw baseline gave up after retries")


def timed_threads(writers: int, work) -> float:
    barrier = threading.Barrier(writers + 1)
    errors = []

    def runner(index):
        barrier.wait()
        try:
            work(index)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def writer(backend, factory, book, units, plans, half: int, tag: str, *, raw: bool):
    """The work of writer ``w``: its half of its planned postings, ours or raw."""

    def work(w):
        mine = plans[w]
        chunk = mine[half * len(mine) // 2 : (half + 1) * len(mine) // 2]
        connection = RawConnection(backend) if raw else None
        try:
            for n, (community_id, lines) in enumerate(chunk):
                key = f"{tag}:{w}:{n}"
                if connection:
                    post_raw(connection, book.tracked, units, community_id, lines, key)
                else:
                    post_ours(factory, community_id, lines, key)
        finally:
            if connection:
                connection.close()

    return work


def posting_runs(backend: str, url: str, postings: int) -> list[dict]:
    engine = ledger.make_engine(url)
    factory = ledger.make_session_factory(engine)
    book = Book(factory, communities=1 + max(WRITERS), wallets_per_community=200)
    units = {a: "COIN" for _, issuance, wallets in book.communities for a in [issuance, *wallets]}
    results = []
    run_id = uuid.uuid4().hex[:8]
    for scenario in SCENARIOS:
        for writers in WRITERS:
            per_writer = postings // writers
            plans = {
                who: {
                    w: book.plan(scenario, w, per_writer, random.Random(f"{who}{scenario}{writers}{w}"))
                    for w in range(writers)
                }
                for who in ("ours", "raw")
            }
            seconds = {"ours": 0.0, "raw": 0.0}
            # Alternate halves so drift (cache warm-up, table growth) hits both equally.
            for half in (0, 1):
                for who in ("ours", "raw") if half == 0 else ("raw", "ours"):
                    tag = f"bench:{run_id}:{who}:{scenario}:{writers}:{half}"
                    work = writer(backend, factory, book, units, plans[who], half, tag, raw=who == "raw")
                    seconds[who] += timed_threads(writers, work)
            done = per_writer * writers
            record = {
                "bench": "ledger_postings",
                "backend": backend,
                "scenario": scenario,
                "writers": writers,
                "postings": done,
                "ours_per_s": round(done / seconds["ours"], 1),
                "raw_per_s": round(done / seconds["raw"], 1),
                "ratio": round(seconds["raw"] / seconds["ours"], 3),
            }
            emit(record)
            results.append(record)
    with factory() as session:
        found = {k: len(v) for k, v in ledger_verify_all(session).items() if v}
    emit({"bench": "ledger_postings_verify", "backend": backend, "discrepancies": found})
    engine.dispose()
    return results


def ledger_verify_all(session):
    from ledger.verify import no_negative_wallets, stored_balances, transactions_balanced, units_balanced

    return {
        "stored_balances": stored_balances(session),
        "transactions_balanced": transactions_balanced(session),
        "units_balanced": units_balanced(session),
        "no_negative_wallets": no_negative_wallets(session),
    }


# -- balance reads -----------------------------------------------------------------------


def bulk_entries(engine, book_accounts, upto_transactions: int, done: int) -> None:
    """Append balanced transactions (wallet +1, issuance -1) with set-based SQL until
    ``upto_transactions`` exist; stored wallet balances are then brought up to date."""
    community_id, issuance, wallets = book_accounts
    first, count = wallets[0], len(wallets)
    assert wallets == list(range(first, first + count)), "bench wallets must have consecutive ids"
    series = (
        "SELECT generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g"
        if engine.dialect.name == "postgresql"
        else "WITH RECURSIVE s(g) AS (SELECT :lo UNION ALL SELECT g + 1 FROM s WHERE g < :hi) SELECT g FROM s"
    )
    now = "now()" if engine.dialect.name == "postgresql" else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    step = 100_000
    with engine.begin() as connection:
        for lo in range(done + 1, upto_transactions + 1, step):
            hi = min(lo + step - 1, upto_transactions)
            connection.execute(
                text(
                    "INSERT INTO ledger_transactions (idempotency_key, request_hash, kind, community_id, memo,"
                    f" details, created_at, content_hash) SELECT 'bulk:' || g, 'x', 'bulk', :c, '', '{{}}', {now}, 'x'"
                    f" FROM ({series}) AS series"
                ),
                {"lo": lo, "hi": hi, "c": community_id},
            )
            connection.execute(
                text(
                    "INSERT INTO ledger_entries (transaction_id, account_id, unit, amount)"
                    " SELECT id, :first + (id % :n), 'COIN', 1 FROM ledger_transactions"
                    " WHERE kind = 'bulk' AND id > :after"
                    " UNION ALL SELECT id, :issuance, 'COIN', -1 FROM ledger_transactions"
                    " WHERE kind = 'bulk' AND id > :after"
                ),
                {
                    "first": first,
                    "n": count,
                    "issuance": issuance,
                    "after": connection.execute(
                        text("SELECT COALESCE(MAX(transaction_id), 0) FROM ledger_entries")
                    ).scalar(),
                },
            )
        connection.execute(
            text(
                "UPDATE ledger_accounts SET balance = (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries e"
                " WHERE e.account_id = ledger_accounts.id) WHERE id BETWEEN :a AND :b"
            ),
            {"a": first, "b": first + count - 1},
        )
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE ledger_entries"))
            connection.execute(text("ANALYZE ledger_transactions"))
        else:
            connection.execute(text("ANALYZE"))


def time_reads(factory, account_id: int, reads: int) -> float:
    """Median over 5 batches of microseconds per read, a fresh session each (as a request has)."""
    with factory() as session:  # warm the connection and the plan
        ledger.balance(session, account_id)
    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(reads // 5):
            with factory() as session:
                ledger.balance(session, account_id)
        batches.append((time.perf_counter() - started) / (reads // 5) * 1e6)
    return sorted(batches)[2]


def balance_reads(backend: str, sizes: tuple[int, ...], reads: int) -> list[dict]:
    url = fresh_database(backend)
    engine = ledger.make_engine(url)
    factory = ledger.make_session_factory(engine)
    book = Book(factory, communities=1, wallets_per_community=1000)
    accounts = book.communities[0]
    community_id, issuance, wallets = accounts
    with engine.connect() as connection:
        base = connection.execute(text("SELECT COUNT(*) FROM ledger_entries")).scalar()
    results, done = [], 0
    for size in sizes:
        transactions = (size - base) // 2
        started = time.perf_counter()
        bulk_entries(engine, accounts, transactions, done)
        done = transactions
        generated = time.perf_counter() - started
        ledger.run_in_transaction(factory, ledger.checkpoint_system_accounts)
        for n in range(20):  # entries after the checkpoint, as in production between checkpoints
            ledger.run_in_transaction(
                factory,
                lambda s, n=n, key=f"late:{size}:{n}": ledger.post(
                    s,
                    lines=[ledger.Line(wallets[n], 1), ledger.Line(issuance, -1)],
                    idempotency_key=key,
                    kind="bench",
                    community_id=community_id,
                ),
            )
        with engine.connect() as connection:
            entries = connection.execute(text("SELECT COUNT(*) FROM ledger_entries")).scalar()
        record = {
            "bench": "balance_read",
            "backend": backend,
            "entries": entries,
            "wallet_us": round(time_reads(factory, wallets[7], reads), 1),
            "issuance_us": round(time_reads(factory, issuance, reads), 1),
            "generate_s": round(generated, 1),
        }
        emit(record)
        results.append(record)
    engine.dispose()
    return results


# -- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run: fewer postings, 100 k instead of 1 M"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postings", type=int, help="postings per run and side (default 2000, quick 400)")
    args = parser.parse_args()
    os.environ.setdefault("GREENCOIN_FAST_HASH", "1")
    postings = args.postings or (400 if args.quick else 2000)
    sizes = (10_000, 100_000) if args.quick else (10_000, 1_000_000)
    reads = 300 if args.quick else 1000
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]

    summary = {}
    for backend in backends:
        runs = posting_runs(backend, fresh_database(backend), postings)
        reads_at = balance_reads(backend, sizes, reads)
        by = {(r["scenario"], r["writers"]): r for r in runs}
        small, large = reads_at[0], reads_at[-1]
        summary[backend] = {
            "ratio_1_writer_min": min(by[(s, 1)]["ratio"] for s in SCENARIOS),
            "hot_over_spread_4_writers": round(
                by[("award_hot", 4)]["ours_per_s"] / by[("award_spread", 4)]["ours_per_s"], 3
            ),
            "wallet_read_large_over_small": round(large["wallet_us"] / small["wallet_us"], 3),
            "issuance_read_large_over_small": round(large["issuance_us"] / small["issuance_us"], 3),
        }
    emit(
        {
            "bench": "summary",
            "targets": {
                "ratio_1_writer_postgresql": ">= 0.8",
                "hot_over_spread_4_writers": ">= 0.8",
                "read_large_over_small": "<= 1.2",
            },
            **summary,
        }
    )


if __name__ == "__main__":
    main()
