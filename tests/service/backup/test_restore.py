"""``greencoin backup restore FILE`` puts a verified backup into an empty database: afterwards the
book reconciles, its chain head is the file's, and new postings get fresh ids. A file that does not
verify, or a database that is not empty, is refused with nothing written."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner
from sqlalchemy import func, select

import ledger
from ledger.models import Transaction
from service import create_app
from service.backup.cli import backup_group
from service.extensions import db
from service.jobs import reconciliation
from service.members.models import Household, Member
from tests.conftest import empty_postgres
from tests.factories import World
from tests.service.conduct.test_disclosure_tie_out import _busy_month


def _export(app, world, path) -> dict:
    community = _busy_month(world)
    admin = world.admin(community)
    head = admin.post("/api/v1/households", {"community_id": community.id, "name": "周家"}).json
    member = world.member(community, name="周老汉")
    admin.post(f"/api/v1/households/{head['id']}/members", {"member_id": member.id})
    admin.patch(f"/api/v1/households/{head['id']}", {"head_member_id": member.id})
    with app.app_context():
        db.run(ledger.seal)
    result = CliRunner().invoke(backup_group, ["export", str(path)], env={"DATABASE_URL": app.config["DATABASE_URL"]})
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text(encoding="utf-8").splitlines()[0])


def _empty_target(app, database_url, sqlite_template, tmp_path) -> str:
    """An empty, migrated database of the same kind as the source."""
    app.extensions["greencoin_db"][0].dispose()
    if database_url.startswith("sqlite"):
        target = tmp_path / "restored.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    empty_postgres(database_url)
    return database_url


def _restore(url: str, path) -> object:
    return CliRunner().invoke(backup_group, ["restore", str(path)], env={"DATABASE_URL": url})


def test_a_restored_backup_reconciles_and_keeps_its_chain_head(app, world, database_url, sqlite_template, tmp_path):
    path = tmp_path / "backup.jsonl"
    header = _export(app, world, path)
    target = _empty_target(app, database_url, sqlite_template, tmp_path)
    result = _restore(target, path)
    assert result.exit_code == 0, result.output
    assert f"#{header['chain_head']['seq']}" in result.output

    restored = create_app({"DATABASE_URL": target, "TESTING": True, "SECRET_KEY": "test-secret", "REDIS_URL": None})
    try:
        engine, factory = restored.extensions["greencoin_db"]
        with restored.app_context():
            head = ledger.chain_head(db.session)
            assert (head.seq, head.chain_hash) == (header["chain_head"]["seq"], header["chain_head"]["chain_hash"])
            assert db.session.scalar(select(func.count()).select_from(Transaction)) == header["counts"]["ledger_transactions"]
            household = db.session.scalars(select(Household).where(Household.name == "周家")).one()
            assert db.session.get(Member, household.head_member_id).name == "周老汉"
        record = reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual")
        assert record.status == "passed", [(d.check, d.subject) for d in record.discrepancies]
        # Life goes on in the restored book: new rows get ids past the restored ones.
        world2 = World(restored)
        community = world2.community()
        member = world2.member(community)
        world2.credit(member, 7)
        assert world2.balance(member) == 7
        with restored.app_context():
            db.run(ledger.seal)
        again = reconciliation.run_reconciliation(factory, engine, mode="full", trigger="manual")
        assert again.status == "passed", [(d.check, d.subject) for d in again.discrepancies]
        # A second restore into the now non-empty database is refused.
        refused = _restore(target, path)
        assert refused.exit_code == 1 and "not empty" in refused.output
    finally:
        restored.extensions["greencoin_db"][0].dispose()


def test_a_backup_that_does_not_verify_is_refused_and_nothing_is_written(app, world, database_url, sqlite_template,
                                                                        tmp_path):
    path = tmp_path / "backup.jsonl"
    _export(app, world, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines[1:], start=1):
        record = json.loads(line)
        if record["t"] == "ledger_entries":
            record["r"]["amount"] += 1
            lines[n] = json.dumps(record, ensure_ascii=False)
            break
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = _empty_target(app, database_url, sqlite_template, tmp_path)
    result = _restore(target, path)
    assert result.exit_code == 1 and "does not verify" in result.output
    engine = ledger.make_engine(target)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(Transaction)).scalar() == 0
    finally:
        engine.dispose()
