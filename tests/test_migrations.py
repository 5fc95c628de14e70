"""The migrations build the schema from nothing on both databases, go back down, and agree with
the models (autogenerate finds no difference)."""

from __future__ import annotations

import os

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from ledger.models import Base
from service.domains import import_models
from service.migrate import downgrade, upgrade
from tests.conftest import PG_ADMIN_DSN, PG_HOST, _reachable_postgres, require_service


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    """A database with no tables at all (not the migrated test database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    require_service("PostgreSQL", _reachable_postgres())
    name = f"greencoin_migrations_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def differences(url: str) -> list:
    """What ``alembic revision --autogenerate`` would emit against this database."""
    import_models()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_downgrade_and_upgrade_again_from_an_empty_database(empty_url):
    import_models()
    model_tables = set(Base.metadata.tables)

    upgrade(empty_url)
    built = tables(empty_url)
    assert {"ledger_accounts", "ledger_transactions", "ledger_entries", "members", "staff"} <= built

    downgrade(empty_url, "base")
    assert tables(empty_url) <= {"alembic_version"}

    upgrade(empty_url)
    assert tables(empty_url) == built
    assert model_tables <= built, f"models without a migration: {sorted(model_tables - built)}"


def test_models_and_migrations_agree(empty_url):
    assert differences(empty_url), "the comparison must see missing tables (else it proves nothing)"
    upgrade(empty_url)
    assert differences(empty_url) == []
