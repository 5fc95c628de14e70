"""A city-shaped book at a chosen size: bulk load, reconciliation beside the SQL floor, reads; prints JSON.

    .venv/bin/python bench/city_bench.py --entries 1000000 --backend postgresql [--python-chain]

Deterministic from ``--seed``: ``--communities`` communities of residents (COIN and HOUR wallets),
issuance accounts and an expiry sink per community, a till per supermarket; a year of history in
time order: volunteer hours (hours and coins, four entries), conduct awards and deductions, baskets
(wallet to till, with the basket lines in the details), whole refunds (reversals) and adjustments,
with valid content hashes, stored balances and a sealed hash chain. Loaded by COPY (PostgreSQL) or
executemany (SQLite); the load rate is compared with a raw COPY of the same rows into empty copies
of the tables measured in the same run.

Then, in the same run: the *floor* (a bare GROUP BY over the entries plus a SQL sha256 over every
transaction and entry row), a full reconciliation, one city day of new postings and an incremental
reconciliation, the system checkpoints, and balance and statement reads at the start and the end
of the history. Each job runs in a spawned process so its peak RSS is its own. ``--python-chain``
also times the full run with the hash chain recomputed in Python (the code before SQL hashing).

What it does not build (yet): the service's domain rows (members, stations, products), so star
tiers, disclosures, expiry and imports are not measured here. See docs/scaling.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import multiprocessing
import os
import random
import resource
import sqlite3
import time

import psycopg
from scratch import scratch_database  # bench/scratch.py, beside this file
from sqlalchemy.engine import make_url

import ledger
from ledger import chain
from service.migrate import upgrade

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
ACTIVITIES = ("环境整治", "关爱老人", "治安巡逻", "文明劝导", "垃圾分类宣传", "义务理发")
PRODUCTS = (("洗衣粉", 15), ("食用油", 40), ("大米5kg", 60), ("毛巾", 8), ("肥皂", 5), ("酱油", 12))
TX_COLUMNS = ("id", "idempotency_key", "request_hash", "kind", "community_id", "memo", "actor_id", "location",
              "details", "reverses_id", "related_id", "created_at", "content_hash")
ENTRY_COLUMNS = ("id", "transaction_id", "account_id", "unit", "amount", "balance_after", "account_version")
LINK_COLUMNS = ("seq", "transaction_id", "prev_hash", "chain_hash", "sealed_at")


class City:
    """Accounts of the city, created with raw inserts (ids known in advance)."""

    def __init__(self, communities: int, residents: int, rng: random.Random):
        self.rng = rng
        self.accounts: list[tuple] = []
        self.community_ids = list(range(1, communities + 1))
        self.coin, self.hour, self.issuance, self.sink, self.tills = {}, {}, {}, {}, {}
        self.balance: dict[int, list[int]] = {}  # tracked account -> [balance, version]
        next_id = 1

        def account(type_, unit, community, owner, tracked=True, negative=False):
            nonlocal next_id
            account_id, next_id = next_id, next_id + 1
            self.accounts.append((account_id, f"{type_}:{owner}:{unit}", type_, unit, community, owner,
                                  negative, tracked, 0, 0))
            if tracked:
                self.balance[account_id] = [0, 0]
            return account_id

        per = max(residents // communities, 1)
        owner = 1_000_000
        for community in self.community_ids:
            self.issuance[community] = {unit: account("issuance", unit, community, community, False, True)
                                        for unit in ("COIN", "HOUR")}
            self.sink[community] = account("expiry_sink", "COIN", community, community, False)
            self.tills[community] = [account("supermarket_till", "COIN", community, community * 10 + n)
                                     for n in range(2)]
            for _ in range(per):
                owner += 1
                self.coin[owner] = (community, account("member_wallet", "COIN", community, owner))
                self.hour[owner] = account("member_wallet", "HOUR", community, owner)
        self.members = list(self.coin)


class Book:
    """Generates transactions in time order with their entries, hashes and chain links."""

    def __init__(self, city: City, start: dt.datetime):
        self.city, self.rng, self.now = city, city.rng, start
        self.tx_id = self.entry_id = self.seq = 0
        self.prev_hash = chain.GENESIS_HASH
        self.txs, self.entries, self.links = [], [], []
        self.reversible: list[tuple[int, int, list[tuple[int, int]]]] = []

    def _post(self, kind, community, lines, *, memo="", details=None, reverses=None, related=None, actor=None,
              location=None):
        self.tx_id += 1
        tx_id = self.tx_id
        units = {a: ("HOUR" if a in self._hour_ids else "COIN") for a, _ in lines}
        key = f"city:{kind}:{tx_id}"
        details = details or {}
        content = chain.content_hash(
            idempotency_key=key, kind=kind, community_id=community, created_at=self.now, memo=memo,
            actor_id=actor, location=location, details=details, reverses_id=reverses, related_id=related,
            lines=[(a, units[a], m) for a, m in lines],
        )
        self.txs.append((tx_id, key, "0" * 64, kind, community, memo, actor, location, chain.canonical_json(details),
                         reverses, related, self.now, content))
        for account_id, amount in lines:
            self.entry_id += 1
            state = self.city.balance.get(account_id)
            if state is not None:
                state[0] += amount
                state[1] += 1
                self.entries.append((self.entry_id, tx_id, account_id, units[account_id], amount, state[0], state[1]))
            else:
                self.entries.append((self.entry_id, tx_id, account_id, units[account_id], amount, None, None))
        self.seq += 1
        linked = chain.link_hash(self.prev_hash, content)
        self.links.append((self.seq, tx_id, self.prev_hash, linked, self.now))
        self.prev_hash = linked
        return tx_id

    @property
    def _hour_ids(self):
        if not hasattr(self, "_hours"):
            self._hours = set(self.city.hour.values()) | {i["HOUR"] for i in self.city.issuance.values()}
        return self._hours

    def step(self, seconds: float) -> None:
        """One posting of a random kind, ``seconds`` after the previous one."""
        self.now += dt.timedelta(seconds=seconds)
        city, rng = self.city, self.rng
        member = rng.choice(city.members)
        community, coin = city.coin[member]
        roll = rng.random()
        name = rng.choice(SURNAMES) + "*" + rng.choice(SURNAMES)
        if roll < 0.40:
            minutes = rng.choice((60, 90, 120, 180, 240))
            coins = minutes * 10 // 60
            issuance = city.issuance[community]
            self._post("volunteer_hours", community, [(city.hour[member], minutes), (issuance["HOUR"], -minutes),
                                                      (coin, coins), (issuance["COIN"], -coins)],
                       memo=rng.choice(ACTIVITIES), actor=rng.randint(1, 500), location=f"station:{community * 10}",
                       details={"description": f"{name} {rng.choice(ACTIVITIES)} {minutes // 60} 小时",
                                "service_record_id": self.tx_id + 1, "coins_per_hour": 10})
        elif roll < 0.65:
            points = rng.choice((5, 10, 20, 30))
            tx = self._post("conduct_award", community, [(coin, points), (city.issuance[community]["COIN"], -points)],
                            memo="邻里互助", actor=rng.randint(1, 500),
                            details={"description": f"{name} 邻里关系 +{points}", "indicator": "NB01",
                                     "category": "邻里关系"})
            self.reversible.append((tx, community, [(coin, points), (city.issuance[community]["COIN"], -points)]))
        elif roll < 0.90:
            balance = city.balance[coin][0]
            product, price = rng.choice(PRODUCTS)
            quantity = min(rng.randint(1, 3), balance // price)
            if quantity <= 0:
                return self.step(0)
            till = rng.choice(city.tills[community])
            total = price * quantity
            tx = self._post("redemption", community, [(coin, -total), (till, total)], memo="",
                            actor=rng.randint(1, 500), location=f"supermarket:{till}",
                            details={"description": f"爱心超市 {product}×{quantity}",
                                     "lines": [{"sku": product, "name": product, "quantity": quantity,
                                                "unit_price": price}]})
            self.reversible.append((tx, community, [(coin, -total), (till, total)]))
        elif self.reversible and roll < 0.95:
            tx, community, lines = self.reversible.pop(rng.randrange(len(self.reversible)))
            if any(amount > 0 and self.city.balance.get(a, [amount])[0] < amount for a, amount in lines):
                return self.step(0)
            self._post("refund", community, [(a, -m) for a, m in lines], memo="退货", reverses=tx,
                       details={"reason": "顾客退货"})
        else:
            amount = rng.randint(1, 50)
            self._post("adjustment", community, [(coin, amount), (city.issuance[community]["COIN"], -amount)],
                       memo="迁移更正", actor=1, details={"reason": "迁移更正"})
        return None

    def take(self):
        rows = self.txs, self.entries, self.links
        self.txs, self.entries, self.links = [], [], []
        return rows


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _copy(cursor, table: str, columns, rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(url: str, city: City, book: Book, transactions: int, *, chunk: int = 50_000, seconds: float = 1.0) -> dict:
    """Generate and load ``transactions`` postings in chunks; returns rows and seconds."""
    started, rows = time.perf_counter(), 0
    sqlite_db = sqlite3.connect(make_url(url).database) if url.startswith("sqlite") else None
    pg = None if sqlite_db else psycopg.connect(_dsn(url))
    try:
        if book.tx_id == 0:
            accounts = [(*a, dt.datetime.now(dt.UTC)) for a in city.accounts]
            columns = ("id", "code", "type", "unit", "community_id", "owner_id", "allow_negative", "track_balance",
                       "balance", "version", "created_at")
            if sqlite_db:
                with sqlite_db:
                    sqlite_db.executemany(f"INSERT INTO ledger_accounts ({', '.join(columns)}) VALUES "
                                          f"({', '.join('?' * len(columns))})",
                                          [(*a[:10], a[10].replace(tzinfo=None).isoformat(sep=' ')) for a in accounts])
            else:
                with pg.cursor() as cursor:
                    _copy(cursor, "ledger_accounts", columns, accounts)
                pg.commit()
        done = 0
        while done < transactions:
            count = min(chunk, transactions - done)
            for _ in range(count):
                book.step(book.rng.expovariate(1 / seconds))
            txs, entries, links = book.take()
            rows += len(txs) + len(entries) + len(links)
            if sqlite_db:
                def iso(value):
                    return value.replace(tzinfo=None).isoformat(sep=" ")
                with sqlite_db:
                    sqlite_db.executemany(f"INSERT INTO ledger_transactions ({', '.join(TX_COLUMNS)}) VALUES "
                                          f"({', '.join('?' * len(TX_COLUMNS))})", [(*t[:11], iso(t[11]), t[12]) for t in txs])
                    sqlite_db.executemany(f"INSERT INTO ledger_entries ({', '.join(ENTRY_COLUMNS)}) VALUES "
                                          f"({', '.join('?' * len(ENTRY_COLUMNS))})", entries)
                    sqlite_db.executemany(f"INSERT INTO ledger_chain_links ({', '.join(LINK_COLUMNS)}) VALUES "
                                          "(?,?,?,?,?)", [(*li[:4], iso(li[4])) for li in links])
            else:
                with pg.cursor() as cursor:
                    _copy(cursor, "ledger_transactions", TX_COLUMNS, txs)
                    _copy(cursor, "ledger_entries", ENTRY_COLUMNS, entries)
                    _copy(cursor, "ledger_chain_links", LINK_COLUMNS, links)
                pg.commit()
            done += count
        balances = [(b, v, a) for a, (b, v) in city.balance.items()]
        if sqlite_db:
            with sqlite_db:
                sqlite_db.executemany("UPDATE ledger_accounts SET balance = ?, version = ? WHERE id = ?", balances)
        else:
            with pg.cursor() as cursor:
                cursor.execute("CREATE TEMP TABLE b (balance bigint, version bigint, id bigint)")
                _copy(cursor, "b", ("balance", "version", "id"), balances)
                cursor.execute("UPDATE ledger_accounts a SET balance = b.balance, version = b.version FROM b "
                               "WHERE a.id = b.id")
                for table in ("ledger_transactions", "ledger_entries", "ledger_accounts"):
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))")
            pg.commit()
            pg.autocommit = True
            pg.execute("VACUUM ANALYZE")
    finally:
        if sqlite_db:
            sqlite_db.close()
        if pg:
            pg.close()
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}


def raw_copy_rate(url: str, sample: int = 200_000) -> dict:
    """COPY of rows already in the book into empty copies of the tables (indexes included): the
    database's own speed for the same rows, without generating or hashing them."""
    with psycopg.connect(_dsn(url)) as pg, pg.cursor() as cursor:
        rows, seconds = 0, 0.0
        for table, order in (("ledger_transactions", "id"), ("ledger_entries", "id"), ("ledger_chain_links", "seq")):
            buffer = io.BytesIO()
            with cursor.copy(f"COPY (SELECT * FROM {table} ORDER BY {order} LIMIT {sample}) TO STDOUT") as copy:
                for data in copy:
                    buffer.write(data)
            cursor.execute(f"CREATE TEMP TABLE raw_{table} (LIKE {table} INCLUDING ALL)")
            started = time.perf_counter()
            with cursor.copy(f"COPY raw_{table} FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            seconds += time.perf_counter() - started
            rows += cursor.execute(f"SELECT count(*) FROM raw_{table}").fetchone()[0]
        pg.rollback()
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds)}


def floor(url: str) -> dict:
    """A bare GROUP BY over the entries and a SQL sha256 over every transaction and entry row."""
    with psycopg.connect(_dsn(url)) as pg:
        started = time.perf_counter()
        pg.execute("SELECT account_id, sum(amount), count(*) FROM ledger_entries GROUP BY account_id").fetchall()
        group_by = time.perf_counter() - started
        started = time.perf_counter()
        pg.execute("SELECT count(*) FROM ledger_transactions t "
                   "WHERE sha256(convert_to(t::text, 'UTF8')) = '\\x00'::bytea").fetchone()
        pg.execute("SELECT count(*) FROM ledger_entries e "
                   "WHERE sha256(convert_to(e::text, 'UTF8')) = '\\x00'::bytea").fetchone()
        sha = time.perf_counter() - started
    return {"group_by_seconds": round(group_by, 2), "sha256_seconds": round(sha, 2),
            "seconds": round(group_by + sha, 2)}


def _child(fn, args, pipe) -> None:
    started = time.perf_counter()
    result = fn(*args)
    pipe.send((result, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _in_child(fn, *args):
    """Run ``fn(*args)`` in a fresh (spawned) process: (result, seconds, that process's peak RSS in MB),
    so the peak is the job's own, not the generator's."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(fn, args, child))
    process.start()
    result = parent.recv()
    process.join()
    return result


def _reconcile(url: str, mode: str, python_chain: bool = False) -> dict:
    from ledger import chain_sql
    from service.jobs import reconciliation

    if python_chain:
        chain_sql.available = lambda session: False
    engine = ledger.make_engine(url)
    record = reconciliation.run_reconciliation(ledger.make_session_factory(engine), engine, mode=mode,
                                               trigger="manual")
    engine.dispose()
    return {"status": record.status, "mode": record.mode, "discrepancies": record.discrepancy_count,
            "entries": record.counts["entries"], "run_seconds": record.duration_ms / 1000}


def _checkpoints(url: str) -> dict:
    engine = ledger.make_engine(url)
    written = ledger.run_in_transaction(ledger.make_session_factory(engine), ledger.checkpoint_system_accounts)
    engine.dispose()
    return {"checkpoints": written}


def _reads(url: str, first: int, last: int, issuance: int, repeat: int = 200) -> dict:
    """Balance and first statement page of the member with the oldest and the newest entry."""
    engine = ledger.make_engine(url)
    factory = ledger.make_session_factory(engine)
    timings = {}
    with factory() as session:
        for label, account in (("start", first), ("end", last), ("issuance", issuance)):
            for name, call in (("balance", lambda a=account: ledger.balance(session, a)),
                               ("statement", lambda a=account: ledger.statement(session, a, limit=50))):
                call()
                started = time.perf_counter()
                for _ in range(repeat):
                    call()
                timings[f"{name}_{label}_us"] = round((time.perf_counter() - started) / repeat * 1e6)
            session.rollback()
    engine.dispose()
    return timings


def _database_size(url: str) -> int:
    if url.startswith("sqlite"):
        return os.path.getsize(make_url(url).database)
    with psycopg.connect(_dsn(url)) as pg:
        return pg.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def bench(backend: str, args) -> dict:
    rng = random.Random(args.seed)
    with scratch_database(backend, "city") as url:
        upgrade(url)
        city = City(args.communities, args.residents, rng)
        year_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=366)
        book = Book(city, year_ago)
        transactions = args.entries * 10 // 27  # ~2.7 entries per posting in this mix
        seconds_apart = 365 * 86400 / transactions
        loaded = load(url, city, book, transactions, seconds=seconds_apart)
        result = {
            "backend": backend, "entries": book.entry_id, "transactions": book.tx_id,
            "accounts": len(city.accounts), "communities": args.communities,
            "load": {**loaded, "rows_per_second": round(loaded["rows"] / loaded["seconds"])},
            "database_bytes": _database_size(url),
        }
        if backend == "postgresql":
            result["raw_copy"] = raw_copy_rate(url)
            result["load"]["ratio_to_raw_copy"] = round(
                result["load"]["rows_per_second"] / result["raw_copy"]["rows_per_second"], 3)
            result["floor"] = floor(url)
        jobs = {}
        for name, fn, job_args in (
            ("checkpoints", _checkpoints, (url,)),
            ("full", _reconcile, (url, "full")),
            *((("full_python_chain", _reconcile, (url, "full", True)),) if args.python_chain else ()),
        ):
            value, seconds, rss = _in_child(fn, *job_args)
            jobs[name] = {"seconds": round(value.pop("run_seconds", seconds), 2), **value, "peak_rss_mb": round(rss)}
        # One city day of new postings, sealed as the sealer would, then the nightly incremental run.
        day = max(transactions // 365, 1)
        book.now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        load(url, city, book, day, seconds=1.0)
        value, seconds, rss = _in_child(_reconcile, url, "incremental")
        jobs["incremental_one_day"] = {"seconds": round(value.pop("run_seconds"), 2), **value,
                                       "peak_rss_mb": round(rss)}
        result["jobs"] = jobs
        members = city.members
        first, last = city.coin[members[0]][1], city.coin[members[-1]][1]
        result["reads"] = _in_child(_reads, url, first, last, city.issuance[1]["COIN"])[0]
        if "floor" in result:
            result["ratios_to_floor"] = {
                name: round(job["seconds"] / result["floor"]["seconds"], 2)
                for name, job in jobs.items() if name.startswith("full")
            }
        per_million = 1_000_000 / book.entry_id
        result["full_seconds_per_million_entries"] = round(jobs["full"]["seconds"] * per_million, 2)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=20)
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--python-chain", action="store_true", help="also time the full run with Python hashing")
    args = parser.parse_args()
    for backend in args.backend or ["postgresql"]:
        print(json.dumps(bench(backend, args), ensure_ascii=False))


if __name__ == "__main__":
    main()
