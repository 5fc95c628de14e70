"""Helpers for the jobs tests: the app's engine and session factory, and direct database edits."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

import ledger
from ledger.db import drop_append_only_ddl


@pytest.fixture
def db_handles(app):
    """(engine, session factory) of the test app, as a job would build them."""
    return app.extensions["greencoin_db"]


@pytest.fixture
def tamper(database_url):
    """Run SQL straight against the database, past the append-only triggers (as an attacker would)."""

    def run(sql: str, **params) -> None:
        engine = ledger.make_engine(database_url, poolclass=NullPool)
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET session_replication_role = replica"))
            else:
                for statement in drop_append_only_ddl("sqlite"):
                    connection.execute(text(statement))
            connection.execute(text(sql), params)
        engine.dispose()

    return run
