"""Jobs run against the test app (installed as the process's job runtime), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

import ledger
from ledger import Unit
from service.community.operations import issuance_account
from service.extensions import db
from service.localtime import today as local_today
from service.members.operations import member_wallet
from workers import runtime


@pytest.fixture
def jobs_app(app):
    runtime.install(app)
    yield app
    runtime.install(None)


@pytest.fixture
def yesterday(app) -> dt.date:
    return local_today(app.config["TIMEZONE"]) - dt.timedelta(days=1)


@pytest.fixture
def post_hours(app):
    """Approve-like postings of volunteer minutes (kind volunteer_hours), returning the transaction id."""

    def post(member, minutes: int, *, kind: str = "volunteer_hours", actor_id=None) -> int:
        def work(s):
            wallet = member_wallet(s, member, Unit.HOUR)
            source = issuance_account(s, member.community_id, Unit.HOUR)
            return ledger.post(
                s,
                lines=[ledger.Line(wallet.id, minutes), ledger.Line(source.id, -minutes)],
                idempotency_key=f"test-hours:{uuid.uuid4().hex}",
                kind=kind,
                community_id=member.community_id,
                actor_id=actor_id,
            ).transaction_id

        with app.app_context():
            return db.run(work)

    return post


@pytest.fixture
def reverse(app):
    def run(transaction_id: int, memo: str) -> int:
        with app.app_context():
            return db.run(
                lambda s: ledger.reverse(
                    s, transaction_id=transaction_id, idempotency_key=f"test-rev:{uuid.uuid4().hex}", memo=memo
                ).transaction_id
            )

    return run


@pytest.fixture
def query(app):
    """Run ``fn(session)`` in a fresh session of the test app and return its result."""

    def run(fn):
        with app.app_context(), db.factory() as s:
            return fn(s)

    return run
