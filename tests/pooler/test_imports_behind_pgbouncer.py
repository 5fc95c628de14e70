"""The resident and opening-balance imports (staging tables filled by COPY, a commit per batch)
through PgBouncer in transaction mode: each batch may run on another server connection."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select

from ledger import Unit
from service.extensions import db
from service.imports import cli, operations
from service.imports.cli import run_import
from service.imports.operations import import_opening_balances, import_residents
from service.jobs import reconciliation
from service.members.models import Member

pytestmark = pytest.mark.postgres
RESIDENTS = 24


def _sheet(tmp_path, name: str, header: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_residents_and_opening_balances_import_in_batches_once(pooled_app, shop, tmp_path, monkeypatch, pg_database):
    for module in (cli, operations):  # the command commits after every batch
        monkeypatch.setattr(module, "BATCH_ROWS", 4)
    code = shop.community.code
    residents = _sheet(tmp_path, "residents.csv", "community_code,name,phone,national_id,household,birth_date",
                       [f"{code},居民{n},1390000{n:04d},,{code}户{n // 3},1960-01-01" for n in range(RESIDENTS)])
    assert run_import(pooled_app, residents, import_residents, progress=False) == {"created": RESIDENTS}
    assert run_import(pooled_app, residents, import_residents, progress=False) == {"exists": RESIDENTS}
    with pooled_app.app_context():
        numbers = db.session.scalars(select(Member.volunteer_number).where(Member.name.like("居民%"))
                                     .order_by(Member.id)).all()
    assert len(numbers) == RESIDENTS
    balances = _sheet(tmp_path, "balances.csv", "community_code,volunteer_number,coins,hours_minutes,"
                      "lifetime_hours_minutes", [f"{code},{v},{n + 1},60,600" for n, v in enumerate(numbers)])
    assert run_import(pooled_app, balances, import_opening_balances, progress=False) == {"created": RESIDENTS}
    assert run_import(pooled_app, balances, import_opening_balances, progress=False) == {"exists": RESIDENTS}
    with pooled_app.app_context():
        members = db.session.scalars(select(Member).where(Member.name.like("居民%")).order_by(Member.id)).all()
        assert db.session.scalar(select(func.count()).select_from(Member)) >= RESIDENTS
    assert [shop.world.balance(m) for m in members] == list(range(1, RESIDENTS + 1))
    assert {shop.world.balance(m, Unit.HOUR) for m in members} == {60}
    engine, factory = pooled_app.extensions["greencoin_db"]
    record = reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual")
    assert record.status == "passed", [(d.check, d.subject) for d in record.discrepancies]
    # Staging tables go with each batch's COMMIT: none is left on PgBouncer's server connections,
    # which other clients get next (read on the database itself, not through the pooler).
    with psycopg.connect(pg_database.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as direct:
        left = direct.execute("SELECT relname FROM pg_class WHERE relpersistence = 't' AND relname LIKE 'import_%'")
        assert left.fetchall() == []
