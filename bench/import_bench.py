"""Imports at city speed: ``import-residents`` and ``import-opening-balances`` beside a raw COPY; prints JSON.

    .venv/bin/python bench/import_bench.py --rows 50000 [--backend sqlite] [--communities 20]

Deterministic from ``--seed``: a residents sheet of ``--rows`` rows over ``--communities``
communities (phones, national ID numbers, households of two or three, birth dates; 1 % bad rows of
each kind the importer refuses), then an opening-balances sheet with one row per imported resident
(coins, banked and lifetime minutes; 1 % bad rows). Each sheet goes through the command's own code
(``service.imports.cli.run_import``: the CSV file streamed, a report file, a commit per batch), timed
from opening the file to the last commit; then the same import again (it must create nothing), and a
full reconciliation (it must pass).

Raw COPY, in the same run (PostgreSQL): the rows the import wrote (members, households and wallets;
transactions, entries and chain links) copied out and COPYed into empty copies of their tables
(``LIKE … INCLUDING ALL``: the same indexes, no foreign keys), and the sheet itself COPYed into a
bare table of text columns. Beside it, as a diagnosis (not the goal's floor), the same COPY into copies
that also carry the tables' foreign keys: the checks every real write of these rows pays. Rates are per sheet row, so ``ratio`` = our rows/s ÷ raw rows/s of the
same rows. The database is ``greencoin_importbench_<pid>`` (dropped at the end); SQLite uses a temp file.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from scratch import scratch_database  # bench/scratch.py, beside this file
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GREENCOIN_ENV", "test")  # the development personal-data key is allowed

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英明华建国丽芳伟军红梅桂兰志强海燕玉"
RESIDENT_COLUMNS = ("community_code", "name", "phone", "national_id", "household", "birth_date")
REPEAT = 3  # raw COPY: the best of three, so a moment of load on the shared machine does not flatter us
BALANCE_COLUMNS = ("community_code", "volunteer_number", "coins", "hours_minutes", "lifetime_hours_minutes", "note")


def residents_sheet(rows: int, codes: list[str], rng: random.Random) -> list[list[str]]:
    """Residents; every 100th row is bad in one of four ways (unknown community, phone, ID, date)."""
    sheet = []
    for i in range(rows):
        code = codes[i * len(codes) // rows]
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(65 * 365))
        national_id = f"{530100 + i // 1000:06d}{born:%Y%m%d}{i % 1000:03d}{rng.choice('0123456789X')}"
        row = [code, rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), f"139{i:08d}",
               national_id if i % 10 else "", f"{code}-{i // 3}户" if i % 5 < 2 else "", born.isoformat()]
        if i % 100 == 99:
            bad = (i // 100) % 4
            if bad == 0:
                row[0] = "NO-SUCH"
            elif bad == 1:
                row[2] = "call-me"
            elif bad == 2:
                row[3] = "12345"
            else:
                row[5] = "1960-13-40"
        sheet.append(row)
    return sheet


def balances_sheet(members: list[tuple[str, str]], rng: random.Random) -> list[list[str]]:
    """One row per resident; every 100th row is bad (a fraction of a coin, or an unknown number)."""
    sheet = []
    for i, (code, number) in enumerate(members):
        lifetime = rng.choice((0, 0, 600, 1200, 6000, 12000))
        banked = max(lifetime - rng.choice((0, 0, 60, 300)), 0) if lifetime else rng.choice((0, 120))
        row = [code, number, str(rng.randrange(0, 500)), str(banked), str(lifetime), "旧台账"]
        if i % 100 == 99:
            if (i // 100) % 2:
                row[2] = "1.5"
            else:
                row[1] = "V-NOBODY"
        sheet.append(row)
    return sheet


def write_sheet(path: str, header, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def raw_copy(url: str, tables: dict[str, str], sheet_path: str, columns, rows: int) -> dict:
    """COPY of the rows the import wrote (``tables``: table -> WHERE clause) into empty copies of the
    tables (same indexes, no foreign keys): logged tables, as any real import writes (WAL), and
    temporary ones (no WAL, as city_bench measures), each the best of ``REPEAT``; and of the sheet
    into a bare text table. Rows/s per sheet row."""
    with psycopg.connect(_dsn(url)) as pg, pg.cursor() as cursor:
        seconds = {"logged": 0.0, "temp": 0.0, "keyed": 0.0}
        written = 0
        for table, where in tables.items():
            buffer = io.BytesIO()
            with cursor.copy(f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT") as copy:
                for data in copy:
                    buffer.write(data)
            foreign_keys = [row[0] for row in cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = CAST(%s AS regclass) "
                "AND contype = 'f'", (table,))]
            for kind in seconds:
                best = None
                for _ in range(REPEAT):
                    cursor.execute(f"CREATE {'TEMP ' if kind == 'temp' else ''}TABLE raw_{kind}_{table} "
                                   f"(LIKE {table} INCLUDING ALL)")
                    if kind == "keyed":
                        for definition in foreign_keys:
                            cursor.execute(f"ALTER TABLE raw_{kind}_{table} ADD {definition}")
                    pg.commit()
                    started = time.perf_counter()
                    with cursor.copy(f"COPY raw_{kind}_{table} FROM STDIN") as copy:
                        copy.write(buffer.getvalue())
                    pg.commit()
                    elapsed = time.perf_counter() - started
                    best = elapsed if best is None else min(best, elapsed)
                    if kind == "logged":
                        written += cursor.execute(f"SELECT count(*) FROM raw_logged_{table}").fetchone()[0] / REPEAT
                    cursor.execute(f"DROP TABLE raw_{kind}_{table}")
                    pg.commit()
                seconds[kind] += best
        cursor.execute(f"CREATE TEMP TABLE raw_sheet ({', '.join(f'{c} text' for c in columns)})")
        with open(sheet_path, "rb") as handle:
            data = handle.read()
        started = time.perf_counter()
        with cursor.copy("COPY raw_sheet FROM STDIN (FORMAT csv, HEADER true)") as copy:
            copy.write(data)
        sheet_seconds = time.perf_counter() - started
        pg.rollback()
    return {"written_rows": round(written), "seconds": round(seconds["logged"], 3),
            "rows_per_second": round(rows / seconds["logged"]),
            "temp_tables_rows_per_second": round(rows / seconds["temp"]),
            "with_foreign_keys_rows_per_second": round(rows / seconds["keyed"]),
            "sheet_only_rows_per_second": round(rows / sheet_seconds)}


def _ratios(ours: int, raw: dict) -> dict:
    return {"ratio_to_raw_copy": round(ours / raw["rows_per_second"], 3),
            "ratio_to_raw_copy_temp_tables": round(ours / raw["temp_tables_rows_per_second"], 3),
            "ratio_to_raw_copy_with_foreign_keys": round(ours / raw["with_foreign_keys_rows_per_second"], 3)}


def timed_import(app, importer, path: str, report: str) -> tuple[dict, float]:
    from service.imports.cli import run_import

    started = time.perf_counter()
    counts = run_import(app, path, importer, report=report, progress=False)
    return dict(counts), time.perf_counter() - started


def reconcile(app) -> dict:
    from service.jobs import reconciliation

    engine, factory = app.extensions["greencoin_db"]
    started = time.perf_counter()
    record = reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual")
    return {"status": record.status, "discrepancies": record.discrepancy_count,
            "seconds": round(time.perf_counter() - started, 2)}


def bench(backend: str, args) -> dict:
    from ledger import Transaction
    from service import create_app
    from service.community.models import Community
    from service.extensions import db
    from service.flows import open_community
    from service.imports.operations import import_opening_balances, import_residents
    from service.members.models import Member
    from service.migrate import upgrade

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as workdir, scratch_database(backend, "importbench") as url:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret", "REDIS_URL": None, "TESTING": True})
        try:
            upgrade(url)
            codes = [f"C{n:03d}" for n in range(1, args.communities + 1)]
            with app.app_context():
                for code in codes:
                    open_community(db.session, code=code, name=f"社区{code}")
                db.session.commit()
            result = {"backend": backend, "rows": args.rows, "communities": args.communities,
                      "load_average_1min": round(os.getloadavg()[0], 1)}

            residents = os.path.join(workdir, "residents.csv")
            write_sheet(residents, RESIDENT_COLUMNS, residents_sheet(args.rows, codes, rng))
            with app.app_context():
                before = db.session.scalar(select(func.max(Member.id))) or 0
            counts, seconds = timed_import(app, import_residents, residents, os.path.join(workdir, "r1.csv"))
            again, again_seconds = timed_import(app, import_residents, residents, os.path.join(workdir, "r2.csv"))
            result["residents"] = {"counts": counts, "seconds": round(seconds, 2),
                                   "rows_per_second": round(args.rows / seconds),
                                   "rerun_counts": again, "rerun_rows_per_second": round(args.rows / again_seconds)}

            with app.app_context():
                members = db.session.execute(
                    select(Community.code, Member.volunteer_number).join(Community, Community.id == Member.community_id)
                    .where(Member.id > before).order_by(Member.id)
                ).all()
                tx_before = db.session.scalar(select(func.max(Transaction.id))) or 0
            balances = os.path.join(workdir, "balances.csv")
            write_sheet(balances, BALANCE_COLUMNS, balances_sheet(members, rng))
            counts, seconds = timed_import(app, import_opening_balances, balances, os.path.join(workdir, "b1.csv"))
            again, again_seconds = timed_import(app, import_opening_balances, balances, os.path.join(workdir, "b2.csv"))
            result["opening_balances"] = {"rows": len(members), "counts": counts, "seconds": round(seconds, 2),
                                          "rows_per_second": round(len(members) / seconds), "rerun_counts": again,
                                          "rerun_rows_per_second": round(len(members) / again_seconds)}
            result["reconciliation"] = reconcile(app)

            if backend == "postgresql":
                raw = raw_copy(url, {"members": f"id > {before}",
                                     "households": f"id IN (SELECT household_id FROM members WHERE id > {before})",
                                     "ledger_accounts": f"type = 'household_wallet' OR (type = 'member_wallet' "
                                                        f"AND owner_id > {before})"},
                               residents, RESIDENT_COLUMNS, args.rows)
                result["residents"]["raw_copy"] = raw
                result["residents"].update(_ratios(result["residents"]["rows_per_second"], raw))
                raw = raw_copy(url, {"ledger_transactions": f"id > {tx_before}",
                                     "ledger_entries": f"transaction_id > {tx_before}",
                                     "ledger_chain_links": f"transaction_id > {tx_before}"},
                               balances, BALANCE_COLUMNS, len(members))
                result["opening_balances"]["raw_copy"] = raw
                result["opening_balances"].update(_ratios(result["opening_balances"]["rows_per_second"], raw))
            result["load_average_1min_end"] = round(os.getloadavg()[0], 1)
            return result
        finally:
            app.extensions["greencoin_db"][0].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--communities", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261203)
    args = parser.parse_args()
    for backend in args.backend or ["postgresql"]:
        print(json.dumps(bench(backend, args), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
