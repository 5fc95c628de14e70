"""A throw-away database for one bench run: a SQLite file in a temporary folder, or a PostgreSQL
database named after the bench and the process (127.0.0.1, user postgres), dropped at the end.
Never the development or test databases."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _drop_and_create(name: str, *, create: bool) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            admin.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def scratch_database(backend: str, stem: str) -> Iterator[str]:
    """Yield the SQLAlchemy URL of an empty database of ``backend``; it is gone afterwards."""
    with tempfile.TemporaryDirectory() as workdir:
        if backend == "sqlite":
            yield f"sqlite:///{os.path.join(workdir, f'{stem}.db')}"
            return
        name = f"greencoin_{stem}_{os.getpid()}"
        _drop_and_create(name, create=True)
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            _drop_and_create(name, create=False)
