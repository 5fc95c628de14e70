"""The set-based imports: batch boundaries change nothing, a second run writes nothing, the books
reconcile, and the command's per-row report names the row, the column and the rule."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from ledger import Account, Transaction, Unit
from ledger.models import ChainLink, Entry
from service.extensions import db
from service.imports import operations
from service.imports.cli import run_import
from service.imports.operations import import_opening_balances, import_residents, read_csv
from service.jobs import reconciliation
from service.members.models import Household, Member
from service.members.operations import get_member

# Rows 2/3 and 6/7 and 8/9 straddle a boundary at BATCH_ROWS = 2 (batches 1-2, 3-4, 5-6, 7-8, 9-10).
RESIDENTS = """community_code,name,phone,national_id,household,birth_date
{code},王秀英,13800000001,53010219500101{n}234,{code}王家,1950-01-01
{code},王小明,13800000002,,{code}王家,2001-05-02
{code},王小明,13800000002,,,
{code},张三,,,,
{code},李四,13800000005,53010219500101{n}234,,1980-01-01
{code},赵六,13800000006,,{code}赵家,1970-02-30
{code},赵六,13800000006,,{code}赵家,1970-03-01
{code},钱七,13800000008,,{code}赵家,2999-01-01
{code},张三,,53010219800101{n}23X,,
{code},孙八,13800000010,53010219800101{n}23x,,
"""
EXPECTED = [("created", None), ("created", None), ("exists", None), ("created", None),
            ("error", "national_id_taken"), ("error", "invalid_birth_date"), ("created", None),
            ("error", "invalid_birth_date"), ("exists", None), ("created", None)]
# Row 9 names row 4's resident, so its national ID number (row 10's, in lower case) is never registered.


def _import(app, importer, text):
    with app.app_context():
        results = list(importer(db.session, read_csv(text)))
        db.session.commit()
        return results


def _counts(app) -> dict:
    with app.app_context():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Member, Household, Account, Transaction, Entry, ChainLink)}


def _reconciles(app) -> None:
    engine, factory = app.extensions["greencoin_db"]
    record = reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual")
    assert record.status == "passed", [(d.check, d.subject) for d in record.discrepancies]


@pytest.mark.parametrize("batch_rows", [2, 3, 5000])
def test_resident_rows_get_the_same_results_whatever_the_batch_boundaries(app, world, monkeypatch, batch_rows):
    monkeypatch.setattr(operations, "BATCH_ROWS", batch_rows)
    community = world.community()
    results = _import(app, import_residents, RESIDENTS.format(code=community.code, n=1))
    assert [(r["status"], r.get("code")) for r in results] == EXPECTED
    assert [r["row"] for r in results] == list(range(1, 11))
    assert results[2]["member_id"] == results[1]["member_id"] and results[8]["member_id"] == results[3]["member_id"]
    assert results[5]["column"] == "birth_date" and results[4]["column"] == "national_id"
    with app.app_context():
        elder, son = get_member(db.session, results[0]["member_id"]), get_member(db.session, results[1]["member_id"])
        assert elder.household_id == son.household_id is not None
        assert elder.national_id_masked == "**************1234" and elder.phone == "13800000001"
        assert son.volunteer_number == f"V{community.id:04d}{son.id:08d}" and len(son.card_code) == 16
        zhao = get_member(db.session, results[6]["member_id"])
        assert db.session.get(Household, zhao.household_id).name == f"{community.code}赵家"
        wallets = db.session.scalars(select(Account.code).where(Account.owner_id == zhao.id,
                                                                Account.type == "member_wallet")).all()
        assert sorted(wallets) == [f"member_wallet:{zhao.id}:COIN", f"member_wallet:{zhao.id}:HOUR"]
        assert db.session.scalar(select(func.count()).select_from(Account).where(
            Account.type == "household_wallet", Account.owner_id == zhao.household_id)) == 1
    before = _counts(app)
    again = _import(app, import_residents, RESIDENTS.format(code=community.code, n=1))
    # Row 6 (a bad birth date) now names row 7's resident, so it is found before its date is read.
    assert [r["status"] for r in again] == ["exists"] * 4 + ["error", "exists", "exists", "error", "exists", "exists"]
    assert _counts(app) == before
    _reconciles(app)


def test_national_id_numbers_are_stored_only_as_keyed_digest_and_mask(app, world):
    community = world.community()
    results = _import(app, import_residents, RESIDENTS.format(code=community.code, n=2))
    with app.app_context():
        stored = db.session.execute(select(Member.national_id_digest, Member.national_id_masked)
                                    .where(Member.id == results[0]["member_id"])).one()
        from service.privacy import national_id_digest

        assert stored.national_id_digest == national_id_digest("530102195001012234")
        assert "530102" not in stored.national_id_masked


BALANCES = """community_code,volunteer_number,coins,hours_minutes,lifetime_hours_minutes
{code},{a},120,600,6000
{code},{b},5,300,0
{code},{a},120,600,6000
{code},{b},6,300,0
{code},{c},x,0,0
{code},{c},0,0,0
NOPE,{c},1,0,0
{code},V-NOBODY,1,0,0
"""


@pytest.mark.parametrize("batch_rows", [2, 5000])
def test_opening_balances_across_batches_post_once_reconcile_and_a_rerun_posts_nothing(app, world, monkeypatch,
                                                                                    batch_rows):
    monkeypatch.setattr(operations, "BATCH_ROWS", batch_rows)
    community = world.community()
    a, b, c = (world.member(community, name=name) for name in ("甲", "乙", "丙"))
    world.credit(b, 7)  # a wallet with history before the import
    sheet = BALANCES.format(code=community.code, a=a.volunteer_number, b=b.volunteer_number, c=c.volunteer_number)
    results = _import(app, import_opening_balances, sheet)
    assert [(r["status"], r.get("code")) for r in results] == [
        ("created", None), ("created", None), ("exists", None), ("error", "idempotency_conflict"),
        ("error", "not_an_integer"), ("empty", None), ("error", "unknown_community"), ("error", "unknown_volunteer")]
    assert results[4]["column"] == "coins" and results[7]["column"] == "volunteer_number"
    assert results[0]["postings"] == 3 and results[1]["postings"] == 2
    assert world.balance(a) == 120 and world.balance(a, Unit.HOUR) == 600
    assert world.balance(b) == 12 and world.balance(b, Unit.HOUR) == 300
    _reconciles(app)
    with app.app_context():
        unsealed = db.session.scalar(select(func.count()).select_from(Transaction).outerjoin(
            ChainLink, ChainLink.transaction_id == Transaction.id).where(ChainLink.seq.is_(None)))
        assert unsealed == 0  # the import linked its own postings, after world.credit's that was waiting
    before = _counts(app)
    again = _import(app, import_opening_balances, sheet)
    assert [r["status"] for r in again][:3] == ["exists", "exists", "exists"]
    assert _counts(app) == before
    assert world.invariants() == {}


def test_the_command_streams_the_sheet_and_reports_every_row_with_its_column_and_rule(app, world, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setattr(operations, "BATCH_ROWS", 3)
    community = world.community()
    sheet = tmp_path / "residents.csv"
    sheet.write_text("\ufeff" + RESIDENTS.format(code=community.code, n=3), encoding="utf-8")
    report = tmp_path / "report.csv"
    counts = run_import(app, str(sheet), import_residents, report=str(report), progress=False)
    assert counts == {"created": 5, "exists": 2, "error": 3}
    with open(report, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["row"]) for r in rows] == list(range(1, 11))
    assert (rows[4]["status"], rows[4]["column"], rows[4]["code"]) == ("error", "national_id", "national_id_taken")
    assert rows[0]["volunteer_number"].startswith("V") and rows[0]["member_id"]
    assert "530102" not in report.read_text(encoding="utf-8")  # no national ID number in the report


def test_a_batch_that_loses_a_unique_race_to_another_writer_is_run_again_from_its_look_ups(app, world, monkeypatch):
    import psycopg

    from service.imports import residents

    community = world.community()
    real, calls = residents.import_batch, []

    def racing(session, batch, communities):
        calls.append(len(batch))
        results = real(session, batch, communities)  # written, then the COPY of a later table collides
        if len(calls) == 1:
            raise psycopg.errors.UniqueViolation("duplicate key value violates unique constraint")
        return results

    monkeypatch.setattr(residents, "import_batch", racing)
    results = _import(app, import_residents, RESIDENTS.format(code=community.code, n=4))
    assert calls == [10, 10] and [(r["status"], r.get("code")) for r in results] == EXPECTED
    assert _counts(app)["members"] == 5  # the first attempt's rows were rolled back with its savepoint
