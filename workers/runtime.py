"""The app a job runs in: settings from the environment, built once per process.

A forked rq worker runs each job in a child process; the child builds its own app and engine (the
cache is keyed by process id), so no pooled database connection ever crosses a fork. In-process
mode (and tests) install the running app instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

_installed: Flask | None = None
_built: dict[int, Flask] = {}


def install(app: Flask | None) -> None:
    """Run jobs of this process against ``app`` (None: back to building one from the environment)."""
    global _installed
    _installed = app


def current() -> Flask:
    if _installed is not None:
        return _installed
    pid = os.getpid()
    if pid not in _built:
        from service import create_app

        _built.clear()  # an app inherited from a parent process is never reused
        _built[pid] = create_app()
    return _built[pid]


@dataclass(frozen=True)
class JobContext:
    app: Flask
    engine: Engine
    factory: sessionmaker[Session]

    @property
    def timezone(self) -> str:
        return self.app.config["TIMEZONE"]


@contextmanager
def job_context(app: Flask | None = None) -> Iterator[JobContext]:
    """The app, engine and session factory a job runs with (``app`` given: a thread of that app)."""
    app = app or current()
    engine, factory = app.extensions["greencoin_db"]
    with app.app_context():
        yield JobContext(app, engine, factory)
