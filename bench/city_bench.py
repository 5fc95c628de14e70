"""A city-size book: bulk load against a raw COPY, then the nightly jobs beside the SQL floor; prints JSON.

    .venv/bin/python bench/city_bench.py --entries 1000000            # PostgreSQL, 20 communities
    .venv/bin/python bench/city_bench.py --entries 20000000 --communities 300 --residents 2200000

The city and its year of history come from the demo's generator (``service.demo_city``, the code
behind ``greencoin demo --size city``), deterministic from ``--seed``: communities with their
stations, supermarkets, catalogue and stock (through the service's operations), residents in
households with COIN and HOUR wallets (in bulk), and ledger postings in time order (volunteer hours,
conduct awards, baskets, whole refunds and award reversals, adjustments) written by
``ledger.bookload``: COPY into staging tables, the request and content hashes made by PostgreSQL,
the chain links chained in Python, with the domain records behind the postings (service records,
awards, baskets, refunds, stock; ``records``, written in the same chunks). The load rate
(transactions, entries and links per second) is
compared with a raw COPY of the same rows into empty copies of the tables (indexes included),
measured in the same run; ``of_which_seconds`` is what the load's end took of it (the wallets'
stored balances by one UPDATE, the foreign keys validated).

Then, each in a spawned process (so its peak RSS is its own; ``idle`` is such a process that only
builds the app): the *floor* (a bare GROUP BY over the entries plus a SQL sha256 over every
transaction and entry row), the system checkpoints, a full reconciliation (and the floor again: the
ratio is to the mean of the two, in wall time and in CPU seconds, PostgreSQL's and the job's, read
from ``/proc`` when the server runs here; CPU moves less than wall time on a shared machine), one city day of new
postings and the incremental reconciliation, balance and statement reads at the start and the end
of the history, star tiers, the monthly disclosure of every community and the annual expiry (last;
it posts). The load average is printed at the start and after every job.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import json
import multiprocessing
import os
import random
import resource
import sys
import time

import psycopg
from proccpu import postgres_cpu  # bench/proccpu.py, beside this file
from scratch import scratch_database
from sqlalchemy.engine import make_url

import ledger
from ledger import bookload
from service.migrate import upgrade


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _app(url: str):
    from service import create_app
    from workers import runtime

    app = create_app({"DATABASE_URL": url, "GREENCOIN_ENV": "development", "SECRET_KEY": "city-bench",
                      "REDIS_URL": None})
    runtime.install(app)
    return app


def build(url: str, size, seed: int, now: dt.datetime) -> dict:
    """The city (places and residents) and its year of history; timings of both."""
    from service import demo_city
    from service.extensions import db

    app = _app(url)
    rng = random.Random(seed)
    start = now - dt.timedelta(days=366)
    with app.app_context():
        session = db.session
        started = time.perf_counter()
        with ledger.posting_time(start):
            city = demo_city.build_city(session, size, rng, at=start)
        places = time.perf_counter() - started
        history = demo_city.History(city, rng, start, bookload.next_transaction_id(session.connection()))
        transactions = size.entries * 10 // 27  # ~2.7 entries per posting in this mix
        started = time.perf_counter()
        loader = demo_city.write_history(session, history, transactions, seconds=365 * 86400 / transactions)
        seconds = time.perf_counter() - started
    return {"city": city, "history": history, "residents_seconds": round(places, 2),
            "load": {"rows": loader.rows, "transactions": history.count, "entries": history.entry_count,
                     "records": history.records.count, "seconds": round(seconds, 2),
                     "rows_per_second": round(loader.rows / seconds),
                     "of_which_seconds": {k: round(v, 2) for k, v in loader.seconds.items()}}}


def one_day(url: str, history, transactions: int) -> dict:
    """A city day of new postings at the end of the history (sealed as they are written)."""
    from service import demo_city
    from service.extensions import db

    app = _app(url)
    history.now = ledger.utcnow() - dt.timedelta(days=1)
    with app.app_context():
        started = time.perf_counter()
        rows = demo_city.write_history(db.session, history, transactions, seconds=86400 / transactions).rows
    return {"transactions": transactions, "rows": rows, "seconds": round(time.perf_counter() - started, 2)}


def vacuum_analyze(url: str) -> float:
    if url.startswith("sqlite"):
        return 0.0
    started = time.perf_counter()
    with psycopg.connect(_dsn(url), autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE")
    return round(time.perf_counter() - started, 2)


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
    """A bare GROUP BY over the entries and a SQL sha256 over every transaction and entry row; the
    CPU seconds PostgreSQL spent on them (None if the server is not on this machine)."""
    with psycopg.connect(_dsn(url)) as pg:
        cpu = postgres_cpu(pg)
        started = time.perf_counter()
        pg.execute("SELECT account_id, sum(amount), count(*) FROM ledger_entries GROUP BY account_id").fetchall()
        group_by = time.perf_counter() - started
        started = time.perf_counter()
        pg.execute("SELECT count(*) FROM ledger_transactions t "
                   "WHERE sha256(convert_to(t::text, 'UTF8')) = '\\x00'::bytea").fetchone()
        pg.execute("SELECT count(*) FROM ledger_entries e "
                   "WHERE sha256(convert_to(e::text, 'UTF8')) = '\\x00'::bytea").fetchone()
        sha = time.perf_counter() - started
        cpu = None if cpu is None else round(postgres_cpu(pg) - cpu, 2)
    return {"group_by_seconds": round(group_by, 2), "sha256_seconds": round(sha, 2),
            "seconds": round(group_by + sha, 2), "db_cpu_seconds": cpu}


def _peak_rss_mb() -> float:
    """This process's own peak RSS. Linux keeps ``ru_maxrss`` across exec, so a spawned child would
    report its parent's peak (the generator's city); the address space's high-water mark is its own."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(fn, args, pipe) -> None:
    started = time.perf_counter()
    result = fn(*args)
    times = os.times()
    pipe.send((result, time.perf_counter() - started, _peak_rss_mb(), times.user + times.system))


def _in_child(fn, *args):
    """Run ``fn(*args)`` in a fresh (spawned) process: (result, seconds, that process's peak RSS in MB,
    its CPU seconds), so the peak is the job's own, not the generator's."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(fn, args, child))
    process.start()
    result = parent.recv()
    process.join()
    return result


def _idle(url: str) -> dict:
    _app(url)
    return {}


def _reconcile(url: str, mode: str) -> dict:
    from service.jobs import reconciliation

    app = _app(url)
    engine, factory = app.extensions["greencoin_db"]
    record = reconciliation.run_reconciliation(factory, engine, mode=mode, trigger="manual")
    return {"status": record.status, "mode": record.mode, "discrepancies": record.discrepancy_count,
            "entries": record.counts["entries"], "run_seconds": record.duration_ms / 1000}


def _job(url: str, name: str, business_date: str | None = None) -> dict:
    """A nightly job of ``workers.jobs`` (for one business date), as the schedule runs it; its own
    seconds, without the process's start and the app's import."""
    from workers import jobs

    _app(url)
    started = time.perf_counter()
    result = getattr(jobs, name)(business_date)
    seconds = time.perf_counter() - started
    out = {"run_seconds": seconds, "counts": result[0]["counts"], "done": result[0]["done"]}
    if name == "expire_coins":
        started = time.perf_counter()
        out["sealed"] = jobs.seal_chain()  # what the sealer does within a minute of the expiry's postings
        out["seal_seconds"] = round(time.perf_counter() - started, 2)
    return out


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


def _business_dates(url: str) -> dict[str, str]:
    """The night before yesterday and yesterday's (the nightly jobs before and after the bench's one
    day), the last day of last month (the disclosure's night) and the last expiry date."""
    from service.bookkeeping import expiry
    from service.demo_city import EXPIRY_MONTH_DAY
    from service.localtime import today

    yesterday = today(_app(url).config["TIMEZONE"]) - dt.timedelta(days=1)
    cleared = expiry.expiry_date(EXPIRY_MONTH_DAY, yesterday.year)
    if cleared > yesterday:
        cleared = expiry.expiry_date(EXPIRY_MONTH_DAY, yesterday.year - 1)
    return {"night_before": (yesterday - dt.timedelta(days=1)).isoformat(), "night": yesterday.isoformat(),
            "star_tiers": yesterday.isoformat(),
            "disclosure": (yesterday.replace(day=1) - dt.timedelta(days=1)).isoformat(),
            "expiry": cleared.isoformat()}


def _ratios(before: dict, after: dict, jobs: dict) -> dict:
    """The full run against the mean of the floors measured before and after it: in wall time and,
    where PostgreSQL runs here, in CPU (the database's plus the job process's, less what building
    the app costs both, the ``idle`` job's)."""
    full, idle = jobs["full"], jobs.get("idle", {})
    ratios = {"full": round(full["seconds"] / ((before["seconds"] + after["seconds"]) / 2), 2)}
    if None not in (before["db_cpu_seconds"], after["db_cpu_seconds"], full["db_cpu_seconds"]):
        cpu = full["cpu_seconds"] + full["db_cpu_seconds"] - idle.get("cpu_seconds", 0) - (idle.get("db_cpu_seconds") or 0)
        ratios["full_cpu"] = round(cpu / ((before["db_cpu_seconds"] + after["db_cpu_seconds"]) / 2), 2)
    return ratios


def bench(backend: str, args) -> dict:
    from service.demo_city import CitySize

    size = CitySize(communities=args.communities, residents=max(args.residents // args.communities, 1),
                    entries=args.entries, stations=args.stations, supermarkets=args.supermarkets)
    with scratch_database(backend, "city") as url:
        upgrade(url)
        result = {"backend": backend, "size": dataclasses.asdict(size), "load_average_start": _load_average()}
        built = build(url, size, args.seed, ledger.utcnow())
        city, history = built.pop("city"), built.pop("history")
        result.update(built)
        result["load"]["vacuum_analyze_seconds"] = vacuum_analyze(url)
        result["database_bytes"] = _database_size(url)
        result["load_average_after_load"] = _load_average()
        if backend == "postgresql":
            result["raw_copy"] = raw_copy_rate(url)
            result["load"]["ratio_to_raw_copy"] = round(
                result["load"]["rows_per_second"] / result["raw_copy"]["rows_per_second"], 3)
            result["floor"] = floor(url)
        dates = _business_dates(url)
        jobs = {}

        watch = psycopg.connect(_dsn(url), autocommit=True) if backend == "postgresql" else None

        def run(name, fn, *job_args):
            if name in args.skip:
                return
            db_cpu = watch and postgres_cpu(watch)
            value, seconds, rss, cpu = _in_child(fn, *job_args)
            db_cpu = None if db_cpu is None else round(postgres_cpu(watch) - db_cpu, 2)
            jobs[name] = {"seconds": round(value.pop("run_seconds", seconds), 2), **value, "peak_rss_mb": round(rss),
                          "cpu_seconds": round(cpu, 2), "db_cpu_seconds": db_cpu, "load_average": _load_average()}
            print(json.dumps({name: jobs[name]}, ensure_ascii=False), file=sys.stderr, flush=True)

        print(json.dumps(result, ensure_ascii=False), file=sys.stderr, flush=True)  # so far, should a job not end
        run("idle", _idle, url)
        # The nights before: checkpoints and Merkle blocks, as the schedule runs them before reconciling.
        run("checkpoints", _job, url, "checkpoint_system_accounts", dates["night_before"])
        run("merkle_blocks", _job, url, "build_merkle_blocks", dates["night_before"])
        run("full", _reconcile, url, "full")
        if "floor" in result and "full" in jobs:  # the floor again: the full run between two of them
            result["floor_after_full"] = floor(url)
        day = max(history.count // 365, 1)
        jobs["one_day_load"] = one_day(url, history, day)
        # That day's night, in the schedule's order: checkpoints and the day's block, then reconciliation.
        run("checkpoints_one_day", _job, url, "checkpoint_system_accounts", dates["night"])
        run("merkle_blocks_one_day", _job, url, "build_merkle_blocks", dates["night"])
        run("incremental_one_day", _reconcile, url, "incremental")
        run("star_tiers", _job, url, "apply_star_tiers", dates["star_tiers"])
        run("disclosure_every_community", _job, url, "publish_disclosures", dates["disclosure"])
        run("expiry", _job, url, "expire_coins", dates["expiry"])
        result["jobs"] = jobs
        residents = city.residents
        result["reads"] = _in_child(_reads, url, residents[0][2], residents[-1][2],
                                    city.issuance[city.communities[0]]["COIN"])[0]
        if "floor" in result and "full" in jobs:
            result["ratios_to_floor"] = _ratios(result["floor"], result["floor_after_full"], jobs)
        if "full" in jobs:
            result["full_seconds_per_million_entries"] = round(jobs["full"]["seconds"] * 1e6 / history.entry_count, 2)
        result["load_average_end"] = _load_average()
        if watch is not None:
            watch.close()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=20)
    parser.add_argument("--residents", type=int, default=20_000, help="in the whole city")
    parser.add_argument("--stations", type=int, default=2, help="per community")
    parser.add_argument("--supermarkets", type=int, default=1, help="per community")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--skip", default="", help="jobs not to run, comma-separated (e.g. expiry at city size)")
    args = parser.parse_args()
    args.skip = set(filter(None, args.skip.split(",")))
    for backend in args.backend or ["postgresql"]:
        print(json.dumps(bench(backend, args), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
