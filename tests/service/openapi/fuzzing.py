"""Serve the demo city on a real port and run schemathesis against it, once per role.

Used by ``test_fuzz.py`` (both databases) and runnable by hand::

    .venv/bin/python -m tests.service.openapi.fuzzing sqlite:////tmp/fuzz.db

The figures (operations, requests, statuses, time) come from the server's side: a WSGI wrapper
counts every request it answers. CPU seconds are given beside the wall time (the machine may be
shared): the server's (this process: demo load, app, database driver) and schemathesis' (children).
"""

from __future__ import annotations

import collections
import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import make_server

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"
ST = Path(sys.executable).parent / "st"
SEED = 20261203

# Who fuzzes, in this order: the community administrator last, because what it may do (deactivate
# products, change settings, reverse postings) would otherwise shrink what the others can reach.
# (role, demo login or "resident", phases, max examples per operation, checks left out)
# ignored_auth sends each request without a token or with a broken one: the same requests whatever
# the role, so only the administrator's run (every operation) makes them.
ROLES = [
    ("resident", "resident", "fuzzing,stateful", 3, "ignored_auth"),
    ("cashier", "ql-sl-cashier", "fuzzing,stateful", 3, "ignored_auth"),
    ("station_staff", "ql-sl-staff1", "fuzzing,stateful", 3, "ignored_auth"),
    ("supervisor", "ql-sl-supervisor", "fuzzing,stateful", 3, "ignored_auth"),
    ("admin", "ql-sl-admin", "examples,coverage,fuzzing,stateful", 5, ""),
]


class CountingApp:
    """WSGI middleware: how many requests, which statuses, which operations were reached."""

    def __init__(self, app):
        self.app = app
        self.statuses: collections.Counter = collections.Counter()
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        def counting_start_response(status, headers, exc_info=None):
            with self.lock:
                self.statuses[int(status.split()[0])] += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, counting_start_response)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@dataclass
class RoleRun:
    role: str
    exit_code: int
    seconds: float
    requests: int
    report: dict
    output: str

    @property
    def failures(self) -> list:
        return self.report.get("failures", [])

    @property
    def errors(self) -> list:
        return self.report.get("errors", [])


@dataclass
class FuzzResult:
    database: str
    operations: int = 0
    runs: list[RoleRun] = field(default_factory=list)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    fuzzer_cpu_seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def summary(self) -> dict:
        return {
            "database": self.database,
            "operations": self.operations,
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "cpu_seconds": {"server": round(self.server_cpu_seconds, 1), "schemathesis": round(self.fuzzer_cpu_seconds, 1)},
            "server_errors": sum(n for s, n in self.statuses.items() if s >= 500),
            "statuses": dict(sorted(self.statuses.items())),
            "per_role": {
                r.role: {"requests": r.requests, "seconds": round(r.seconds, 1), "exit_code": r.exit_code}
                for r in self.runs
            },
        }


def demo_app(database_url: str):
    """The app on ``database_url`` (migrated, empty) with a small demo city loaded."""
    from service import create_app
    from service.demo import load_demo
    from service.extensions import db

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "GREENCOIN_ENV": "test",  # the development keys, also on PostgreSQL
            "SECRET_KEY": "fuzz",
            "REDIS_URL": None,
            "LOGIN_RATE_LIMIT": "10 per 5 minutes",
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        load_demo(residents_per_community=20, months=2)
        db.session.remove() if hasattr(db.session, "remove") else None
    return app


def tokens(app) -> dict[str, str]:
    from sqlalchemy import select

    from service.demo import DEMO_PASSWORD, DEMO_PIN
    from service.extensions import db
    from service.members.models import Member

    client = app.test_client()
    found = {}
    with app.app_context():
        card = db.session.scalars(
            select(Member.card_code).where(Member.pin_hash.is_not(None)).order_by(Member.id)
        ).first()
    for role, login, *_ in ROLES:
        if login == "resident":
            answer = client.post("/api/v1/auth/resident-token", json={"card_code": card, "pin": DEMO_PIN})
        else:
            answer = client.post("/api/v1/auth/token", json={"username": login, "password": DEMO_PASSWORD})
        assert answer.status_code == 201, (role, answer.get_json())
        found[role] = answer.get_json()["token"]
    return found


def run_schemathesis(
    base_url: str, token: str, phases: str, max_examples: int, excluded: str, report_dir: Path
) -> tuple[int, dict, str]:
    report = report_dir / "report.json"
    command = [
        str(ST), "--config-file", str(CONFIG), "--no-color", "run", f"{base_url}/api/v1/openapi.json",
        "--checks", "all", "--phases", phases, "--seed", str(SEED), "--max-examples", str(max_examples),
        "--workers", "1", "--generation-database", "none", "--request-timeout", "30",
        "--report", "json", "--report-json-path", str(report),
    ]
    if excluded:
        command += ["--exclude-checks", excluded]
    env = {**os.environ, "GREENCOIN_FUZZ_TOKEN": token}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    data = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, data, done.stdout + done.stderr


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fuzz(database_url: str, report_dir: Path, *, roles=ROLES) -> FuzzResult:
    started, cpu_started, children_started = time.perf_counter(), time.process_time(), _children_cpu()
    app = demo_app(database_url)
    role_tokens = tokens(app)
    counting = CountingApp(app)
    server = make_server("127.0.0.1", 0, counting, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    result = FuzzResult(database=database_url.split(":", 1)[0].split("+")[0])
    try:
        with app.test_client() as client:
            document = client.get("/api/v1/openapi.json").get_json()
        result.operations = sum(
            1 for item in document["paths"].values() for method in item if method in {"get", "post", "put", "patch", "delete"}
        )
        for role, _, phases, max_examples, excluded in roles:
            before = counting.requests
            role_dir = report_dir / role
            role_dir.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            code, report, output = run_schemathesis(
                base_url, role_tokens[role], phases, max_examples, excluded, role_dir
            )
            (role_dir / "output.txt").write_text(output)
            result.runs.append(
                RoleRun(role, code, time.perf_counter() - t0, counting.requests - before, report, output)
            )
    finally:
        server.shutdown()
        app.extensions["greencoin_db"][0].dispose()
    result.statuses = counting.statuses
    result.seconds = time.perf_counter() - started
    result.server_cpu_seconds = time.process_time() - cpu_started
    result.fuzzer_cpu_seconds = _children_cpu() - children_started
    return result


if __name__ == "__main__":
    os.environ.setdefault("GREENCOIN_FAST_HASH", "1")
    from service.migrate import upgrade

    url = sys.argv[1]
    upgrade(url)
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/greencoin-fuzz")
    outcome = fuzz(url, out)
    for run in outcome.runs:
        print(run.output[-3000:])
    print(json.dumps(outcome.summary(), indent=1))
