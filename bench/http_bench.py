"""HTTP throughput and latency of the hot requests, beside ``GET /healthz`` in the same run.

Starts gunicorn (loopback only) on a fresh PostgreSQL database ``greencoin_httpbench`` filled by
the demo generator at the size asked, then for ``/healthz``, a resident's balance read, a statement
page and a basket (``POST /api/v1/redemptions``, 1-3 lines) at 8, 16 and 32 clients prints one
JSON line per point: throughput, p50/p95/p99 latency, server CPU per request (gunicorn workers,
and the PostgreSQL backends of the bench database), SQL round trips per request (counted in the
app, see ``bench/http_app.py``), the ratios to ``/healthz`` at the same client count, and for
baskets the share of PostgreSQL backend samples waiting on a lock (``pg_stat_activity``).
Stops by itself: a fixed number of requests per point, a timeout per request, gunicorn stopped at
the end (also on Ctrl-C). Before the points of a request kind, ``--warmup`` requests of it are sent
and not measured: a worker's first requests compile statements and fill caches, and in a short run
those few slow requests were the p99.

    .venv/bin/python bench/http_bench.py                      # 3,000 requests per point
    .venv/bin/python bench/http_bench.py --requests 500 --clients 16
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from proccpu import cpu_seconds, process_tree  # noqa: E402  (bench/proccpu.py, beside this file)

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_DB = os.environ.get("GREENCOIN_HTTPBENCH_DB", "greencoin_httpbench")
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
HOST = "127.0.0.1"
KINDS = ("healthz", "balance", "statement", "basket")


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


# -- the data set -----------------------------------------------------------------------------


def build_data_set(residents: int, months: int) -> dict:
    """A fresh database with the demo city, coins for every resident and stock for every product;
    returns what the clients need (tokens, ids, SKUs)."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PG_DB}"')
    from sqlalchemy import select

    import ledger
    from ledger import Unit
    from service import create_app
    from service.auth.models import Role, Staff
    from service.auth.operations import issue_token, principal_for_staff
    from service.community.models import Supermarket
    from service.community.operations import issuance_account
    from service.demo import load_demo
    from service.extensions import db
    from service.market.models import Product
    from service.market.operations import receive_stock
    from service.members.models import Member
    from service.members.operations import member_wallet
    from service.migrate import upgrade

    upgrade(URL)
    app = create_app({"DATABASE_URL": URL, "REDIS_URL": None, "TESTING": False, "GREENCOIN_ENV": "development"})
    with app.app_context():
        load_demo(residents_per_community=residents, months=months)
        session = db.session
        shop = session.scalars(select(Supermarket).order_by(Supermarket.id)).first()
        cashier = session.scalars(
            select(Staff).where(Staff.role == Role.CASHIER.value, Staff.supermarket_id == shop.id)
        ).first()
        members = session.scalars(
            select(Member).where(Member.community_id == shop.community_id, Member.active.is_(True)).order_by(Member.id)
        ).all()
        # Enough coins that no basket of the run is refused for want of them.
        issuance = issuance_account(session, shop.community_id, Unit.COIN)
        for member in members:
            ledger.post(
                session,
                lines=[ledger.Line(issuance.id, -1_000_000), ledger.Line(member_wallet(session, member, Unit.COIN).id, 1_000_000)],
                idempotency_key=f"bench:topup:{member.id}",
                kind="adjustment",
                community_id=shop.community_id,
                memo="bench top-up",
            )
        session.execute(
            Product.__table__.update().where(Product.supermarket_id == shop.id).values(active=True)
        )
        products = session.scalars(select(Product).where(Product.supermarket_id == shop.id)).all()
        receive_stock(
            session, principal_for_staff(cashier), supermarket_id=shop.id, kind="donation", source="bench",
            lines=[{"product_id": p.id, "quantity": 100_000} for p in products],
        )
        data = {
            "supermarket_id": shop.id,
            "cashier_token": issue_token(session, staff_id=cashier.id)[0],
            "residents": [(m.id, issue_token(session, member_id=m.id)[0]) for m in members[:200]],
            "member_ids": [m.id for m in members],
            "skus": [p.sku for p in products],
        }
        while ledger.seal(session):
            pass
        session.commit()
    return data


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": URL, "PYTHONPATH": str(ROOT),
           "GREENCOIN_ENV": "development"}  # the keys are this run's own (see main)
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}",
         "--log-level", "warning", "bench.http_app:create_app()"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def backend_pids(conn) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (PG_DB,)
    )]


class LockSampler(threading.Thread):
    """Every 10 ms: how many backends of the bench database are active, and how many wait on a lock."""

    def __init__(self):
        super().__init__(daemon=True)
        self.active = self.waiting = 0
        self.events: dict[str, int] = {}
        self.statements: dict[str, int] = {}
        self.stop = threading.Event()

    def run(self):
        with psycopg.connect(f"host={HOST} port=5432 user=postgres dbname={PG_DB}", autocommit=True) as conn:
            while not self.stop.is_set():
                for wait_type, wait_event, query in conn.execute(
                    "SELECT wait_event_type, wait_event, query FROM pg_stat_activity "
                    "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()", (PG_DB,)
                ):
                    self.active += 1
                    if wait_type == "Lock":
                        self.waiting += 1
                        self.events[wait_event] = self.events.get(wait_event, 0) + 1
                        # Which statement waits: the row it wants is the one that statement writes.
                        words = " ".join((query or "").split()[:3])
                        self.statements[words] = self.statements.get(words, 0) + 1
                time.sleep(0.01)


# -- the clients ------------------------------------------------------------------------------


def make_request(kind: str, data: dict, rng: random.Random):
    if kind == "healthz":
        return "GET", "/healthz", None, {}
    if kind in ("balance", "statement"):
        member_id, token = rng.choice(data["residents"])
        path = f"/api/v1/members/{member_id}/" + ("balance" if kind == "balance" else "statement?limit=20")
        return "GET", path, None, {"Authorization": f"Bearer {token}"}
    lines = [{"sku": sku, "quantity": rng.randint(1, 2)} for sku in rng.sample(data["skus"], rng.randint(1, 3))]
    body = json.dumps({"member_id": rng.choice(data["member_ids"]), "supermarket_id": data["supermarket_id"],
                       "lines": lines})
    headers = {"Authorization": f"Bearer {data['cashier_token']}", "Content-Type": "application/json",
               "Idempotency-Key": uuid.uuid4().hex}
    return "POST", "/api/v1/redemptions", body, headers


def client_process(port, kind, data, threads, count, seed, out):
    results = []
    lock = threading.Lock()
    remaining = [count]

    def client(n):
        rng = random.Random(seed * 1000 + n)
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            method, path, body, headers = make_request(kind, data, rng)
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status, trips = response.status, response.getheader("X-SQL-Round-Trips")
                conn.close()
            except OSError:
                status, trips = 0, None
            elapsed = time.perf_counter() - started
            with lock:
                results.append((elapsed, status, int(trips) if trips else None))

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(results)


def run_point(port, kind, data, clients, requests, server, pg) -> dict:
    processes = min(clients, max(2, (os.cpu_count() or 2)))
    per_process = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    counts = [requests // processes + (1 if i < requests % processes else 0) for i in range(processes)]
    app_pids = process_tree(server.pid)
    db_pids = backend_pids(pg)
    sampler = LockSampler()
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=client_process, args=(port, kind, data, t, c, i + 1, queue))
        for i, (t, c) in enumerate(zip(per_process, counts, strict=True))
    ]
    cpu_app0, cpu_db0 = cpu_seconds(app_pids), cpu_seconds(db_pids)
    sampler.start()
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get(timeout=900)]
    wall = time.perf_counter() - started
    for p in procs:
        p.join()
    sampler.stop.set()
    sampler.join()
    db_pids = sorted(set(db_pids) | set(backend_pids(pg)))
    cpu_app = cpu_seconds(app_pids) - cpu_app0
    cpu_db = cpu_seconds(db_pids) - cpu_db0
    latencies = sorted(r[0] for r in results)
    ok = [r for r in results if 200 <= r[1] < 300]
    trips = [r[2] for r in ok if r[2] is not None]
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "request": kind,
        "clients": clients,
        "requests": len(results),
        "ok": len(ok),
        "errors": {str(s): sum(1 for r in results if r[1] == s) for s in sorted({r[1] for r in results} - {200, 201})},
        "throughput_per_s": round(len(results) / wall, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "app_cpu_ms_per_request": round(cpu_app * 1000 / len(results), 2),
        "db_cpu_ms_per_request": round(cpu_db * 1000 / len(results), 2),
        "sql_round_trips": round(statistics.mean(trips), 2) if trips else None,
        "sql_round_trips_max": max(trips) if trips else None,
        "lock_wait_share": round(sampler.waiting / sampler.active, 3) if sampler.active else None,
        "lock_wait_events": sampler.events,
        "lock_waits_by_statement": dict(sorted(sampler.statements.items(), key=lambda kv: -kv[1])[:4]),
        "active_backend_samples": sampler.active,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per point")
    parser.add_argument("--clients", default="8,16,32", help="client counts, comma-separated")
    parser.add_argument("--requests-kinds", default=",".join(KINDS), dest="kinds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (Procfile: 4)")
    parser.add_argument("--residents", type=int, default=300, help="demo residents per community")
    parser.add_argument("--months", type=int, default=6, help="months of demo history")
    parser.add_argument("--warmup", type=int, default=200,
                        help="requests of each kind sent first and not measured (every worker compiles its "
                             "statements and fills its caches on its first requests)")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    # Production settings need real secrets: one pair for this run, shared by setup and server.
    os.environ.setdefault("SECRET_KEY", "bench-secret-" + uuid.uuid4().hex)
    os.environ.setdefault("GREENCOIN_PII_KEY", "bench-pii-" + uuid.uuid4().hex)
    kinds = [k for k in args.kinds.split(",") if k in KINDS]

    started = time.perf_counter()
    data = build_data_set(args.residents, args.months)
    emit({"bench": "http", "setup_s": round(time.perf_counter() - started, 1), "residents": len(data["member_ids"]),
          "products": len(data["skus"]), "workers": args.workers, "requests_per_point": args.requests,
          "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()})
    port = free_port()
    server = start_server(port, args.workers)
    try:
        with psycopg.connect(f"host={HOST} port=5432 user=postgres dbname={PG_DB}", autocommit=True) as pg:
            floor: dict[int, dict] = {}
            for kind in ["healthz"] + [k for k in kinds if k != "healthz"]:
                if args.warmup:
                    run_point(port, kind, data, max(clients), args.warmup, server, pg)
                for n in clients:
                    point = run_point(port, kind, data, n, args.requests, server, pg)
                    if kind == "healthz":
                        floor[n] = point
                    else:
                        base = floor[n]
                        point["throughput_vs_healthz"] = round(point["throughput_per_s"] / base["throughput_per_s"], 3)
                        point["p99_vs_healthz"] = round(point["p99_ms"] / base["p99_ms"], 2)
                    emit(point)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
