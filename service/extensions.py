"""Extension objects, created here and wired to the app with ``init_app``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import ledger

T = TypeVar("T")


class Database:
    """The app's engine and one session per request (``db.session``).

    Writes go through ``db.run(work)``: one database transaction, committed, retried on
    deadlocks, serialization failures and lost unique races, rolled back on any error.
    The engine lives in ``app.extensions``, so several apps (tests) never share one by mistake.
    """

    def init_app(self, app: Flask) -> None:
        engine = ledger.make_engine(app.config["DATABASE_URL"], pooler=app.config.get("DATABASE_POOLER"))
        app.extensions["greencoin_db"] = (engine, ledger.make_session_factory(engine))
        # PostgreSQL: GET and HEAD requests read in autocommit, so a read costs no BEGIN and no
        # ROLLBACK round trip (READ COMMITTED gave every statement its own snapshot anyway).
        # ``run`` still makes one transaction of its work. SQLite keeps one path for everything.
        if engine.dialect.name == "postgresql":
            reader = engine.execution_options(isolation_level="AUTOCOMMIT")
            app.extensions["greencoin_db_reader"] = ledger.make_session_factory(reader)

        @app.teardown_appcontext
        def _close_session(_exc):
            session = g.pop("db_session", None)
            if session is not None:
                session.close()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["greencoin_db"][0]

    @property
    def factory(self) -> sessionmaker[Session]:
        return current_app.extensions["greencoin_db"][1]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            reader = current_app.extensions.get("greencoin_db_reader")
            reading = reader is not None and has_request_context() and request.method in ("GET", "HEAD")
            g.db_session = reader() if reading else self.factory()
        return g.db_session

    def run(self, work: Callable[[Session], T]) -> T:
        session = self.session
        if session.get_bind() is not self.engine:  # a read-only request's autocommit session
            with self.factory() as writer:
                return ledger.retrying(writer, work)
        return ledger.retrying(session, work)


db = Database()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
