"""The app behind a private PgBouncer in transaction mode, in front of the test PostgreSQL.

Each pytest process starts its own ``pgbouncer`` (Debian's package; ``.ci/run`` installs it) with
its own configuration in a temporary folder, on a free port, and stops it at the end. A server
connection is lent to a client for one transaction only, so anything kept on a connection between
transactions (prepared statements, session settings, temporary tables, session advisory locks, an
exported snapshot) can turn up in another client's transaction or be gone in the next one. Without
``pgbouncer`` these tests skip; with ``CI=true`` they fail (``tests/conftest.py``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_HOST, empty_postgres, require_service

POOL_SIZE = 8  # server connections per database: fewer than the threads, so clients queue for them
# Kept open and handed out in turn (not the last one used first), so even one client's consecutive
# transactions run on different server connections, as they do on a busy pooler.
MIN_POOL_SIZE = 4


def pgbouncer_binary() -> str | None:
    """``GREENCOIN_TEST_PGBOUNCER`` if set, else Debian's ``pgbouncer`` (in ``/usr/sbin``)."""
    given = os.environ.get("GREENCOIN_TEST_PGBOUNCER")
    candidates = [given] if given else [shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"]
    return next((p for p in candidates if p and os.access(p, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config(folder: Path, port: int) -> str:
    return f"""\
[databases]
* = host={PG_HOST} port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / 'users.txt'}
pool_mode = transaction
default_pool_size = {POOL_SIZE}
min_pool_size = {MIN_POOL_SIZE}
server_round_robin = 1
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {folder / 'pgbouncer.log'}
pidfile = {folder / 'pgbouncer.pid'}
"""


@pytest.fixture(scope="session")
def pgbouncer(pg_database):
    """The port of a private PgBouncer (transaction pooling) in front of 127.0.0.1:5432."""
    binary = pgbouncer_binary()
    require_service("PgBouncer (apt-get install pgbouncer)", binary is not None)
    folder = Path(tempfile.mkdtemp(prefix="greencoin-pgbouncer-"))
    port = _free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(_config(folder, port))
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: it drops to the postgres user
        user = pwd.getpwnam("postgres")
        for path in (folder, *folder.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=2"
    try:
        for _ in range(100):
            if process.poll() is not None:
                log = (folder / "pgbouncer.log").read_text() if (folder / "pgbouncer.log").exists() else ""
                pytest.fail(f"pgbouncer exited: {process.stderr.read().decode()} {log}")
            try:
                psycopg.connect(dsn, prepare_threshold=None).close()
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        else:
            pytest.fail("pgbouncer did not accept connections within 10 s")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pooled_url(pgbouncer, pg_database):
    """The test database, emptied, as reached through PgBouncer."""
    empty_postgres(pg_database)
    return pg_database.replace(f"@{PG_HOST}:5432/", f"@127.0.0.1:{pgbouncer}/")


@pytest.fixture
def pooled_app(pooled_url):
    """The app with ``GREENCOIN_DATABASE_POOLER=transaction``, its database through PgBouncer."""
    from service import create_app

    app = create_app({
        "DATABASE_URL": pooled_url, "DATABASE_POOLER": "transaction", "TESTING": True,
        "SECRET_KEY": "test-secret", "REDIS_URL": None,
    })
    yield app
    app.extensions["greencoin_db"][0].dispose()


@pytest.fixture
def shop(pooled_app):
    """A love supermarket's staff and a resident (``tests/service/market``'s ``empty_shop``)."""
    from tests.factories import World
    from tests.service.market.conftest import empty_shop

    return empty_shop(World(pooled_app))


@pytest.fixture
def tamper(pg_database):
    """Run SQL straight against PostgreSQL (not through PgBouncer), past the append-only triggers."""
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    import ledger

    def run(sql: str, **params) -> None:
        engine = ledger.make_engine(pg_database, poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(sql), params)
        engine.dispose()

    return run
