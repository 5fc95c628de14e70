"""The app as ``bench/http_bench.py`` serves it: ``service.create_app()`` plus a per-request count of
SQL round trips, sent back in the ``X-SQL-Round-Trips`` header. Never used outside the bench.

A round trip is one statement sent to the database (``before_cursor_execute``; a multi-row INSERT
is one), a BEGIN (SQLAlchemy's ``begin`` event: psycopg sends ``BEGIN`` before the first statement
of a transaction), a COMMIT or a ROLLBACK. A transaction still open when the response is made
(a read-only request) is rolled back when the session closes after the response; it is counted
as one more round trip in advance. An autocommit connection sends no BEGIN, COMMIT or ROLLBACK.
"""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy import event

from service import create_app as create_service_app
from service.extensions import db

_count = {"n": 0}  # sync gunicorn workers: one request at a time per process


def _bump(*_args, **_kwargs):
    _count["n"] += 1


def _bump_unless_autocommit(connection, *_args, **_kwargs):
    # An autocommit connection (read-only requests on PostgreSQL) sends no BEGIN/COMMIT/ROLLBACK.
    if not getattr(connection.connection.dbapi_connection, "autocommit", False):
        _count["n"] += 1


def create_app() -> Flask:
    app = create_service_app()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _bump)
    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, _bump_unless_autocommit)

    @app.before_request
    def _reset():
        _count["n"] = 0

    @app.after_request
    def _report(response):
        session = g.get("db_session")
        pending = 0
        if session is not None and session.in_transaction():
            dbapi = session.connection().connection.dbapi_connection
            pending = 0 if getattr(dbapi, "autocommit", False) else 1
        response.headers["X-SQL-Round-Trips"] = str(_count["n"] + pending)
        return response

    # Registered first, so it runs before the access hooks (which authenticate).
    app.before_request_funcs[None].insert(0, app.before_request_funcs[None].pop())
    return app
