"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are used whenever reachable; with
``CI=true`` they are required: the run fails if they are unreachable or if any test marked
``postgres`` or ``redis`` was skipped. Each pytest process gets its own PostgreSQL database
(``greencoin_test_<pid>``), migrated once; each test starts from empty tables.
"""

from __future__ import annotations

import os
import shutil

os.environ.setdefault("GREENCOIN_FAST_HASH", "1")  # before service.auth is imported
# Test mode: the development personal-data key is allowed, also in `greencoin` subprocesses on PostgreSQL.
os.environ.setdefault("GREENCOIN_ENV", "test")

import psycopg
import pytest
import redis as redis_lib
from sqlalchemy import inspect, text
from sqlalchemy.pool import NullPool

import ledger
from ledger.models import Base

PG_HOST = os.environ.get("GREENCOIN_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_DSN = f"host={PG_HOST} port=5432 user=postgres dbname=postgres connect_timeout=3"
REDIS_TEST_URL = os.environ.get("GREENCOIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"

_skipped_required: list[str] = []


def _reachable_postgres() -> bool:
    try:
        psycopg.connect(PG_ADMIN_DSN).close()
        return True
    except psycopg.Error:
        return False


def _reachable_redis() -> bool:
    try:
        return bool(redis_lib.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping())
    except redis_lib.RedisError:
        return False


def require_service(name: str, reachable: bool) -> None:
    if reachable:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI (CI=true) but is not reachable")
    pytest.skip(f"{name} not reachable")


def pytest_runtest_logreport(report):
    if report.skipped and ("postgres" in report.keywords or "redis" in report.keywords):
        _skipped_required.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if IN_CI and _skipped_required:
        print(f"\nCI=true but {len(_skipped_required)} PostgreSQL/Redis tests were skipped, e.g. {_skipped_required[:3]}")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file; each test gets a copy (faster than migrating per test)."""
    from service.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "greencoin.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database():
    """A PostgreSQL database of this pytest process, migrated to head; dropped at the end."""
    require_service("PostgreSQL", _reachable_postgres())
    from service.migrate import upgrade

    name = f"greencoin_test_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_postgres(url: str) -> None:
    """Delete every row; replica mode skips the append-only triggers and foreign keys."""
    from service.domains import import_models

    import_models()
    engine = ledger.make_engine(url, poolclass=NullPool)
    # Only tables the migrations created: a model still without its migration is not there yet.
    present = set(inspect(engine).get_table_names())
    tables = [t.name for t in Base.metadata.sorted_tables if t.name in present]
    with engine.begin() as connection:
        connection.execute(text("SET session_replication_role = replica"))
        for table in tables:
            connection.execute(text(f'DELETE FROM "{table}"'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """The URL of an empty, migrated database: once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "greencoin.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    empty_postgres(url)
    return url


@pytest.fixture
def pg_url(request):
    """An empty PostgreSQL database only (concurrency tests that need real row locks)."""
    url = request.getfixturevalue("pg_database")
    empty_postgres(url)
    return url


@pytest.fixture
def engine(database_url):
    engine = ledger.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine):
    return ledger.make_session_factory(engine)


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def redis_url():
    require_service("Redis", _reachable_redis())
    return REDIS_TEST_URL


@pytest.fixture
def app(database_url):
    from service import create_app

    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret", "REDIS_URL": None})
    yield app
    app.extensions["greencoin_db"][0].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    """Factories for test data, bound to the app (see tests/factories.py)."""
    from tests.factories import World

    return World(app)
