"""Reconciliation finds every kind of corruption edited straight into the database."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import ledger
from ledger import Entry, Transaction, Unit
from ledger.db import drop_append_only_ddl
from service.jobs import reconciliation, verification
from service.jobs.models import JobRun, Reconciliation
from service.members.operations import member_wallet


def _book(world, app):
    """A small sound book: two residents with coins, one spend between them, all sealed."""
    community = world.community()
    admin = world.admin(community)
    alice, bob = world.member(community, name="王小明"), world.member(community, name="李四")
    for member, amount in ((alice, 50), (bob, 30)):
        response = admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": amount, "reason": "迁移"})
        assert response.status_code == 201, response.json
    with app.app_context():
        _, factory = app.extensions["greencoin_db"]
        ledger.run_in_transaction(factory, lambda s: ledger.seal(s))
        with factory() as s:
            wallet = member_wallet(s, alice, Unit.COIN).id
    return community, admin, alice, bob, wallet


def _run(app, mode="full", **kwargs):
    engine, factory = app.extensions["greencoin_db"]
    return reconciliation.run_reconciliation(factory, engine, mode=mode, trigger="manual", **kwargs)


def _checks_found(record) -> set[str]:
    return {d.check for d in record.discrepancies}


def test_sound_book_passes_full_and_incremental(app, world):
    _book(world, app)
    full = _run(app, "full")
    assert full.status == "passed" and full.discrepancy_count == 0
    assert full.counts["entries"] >= 4 and full.counts["transactions"] >= 2
    incremental = _run(app, "incremental")
    assert incremental.status == "passed" and incremental.mode == "incremental"


def test_edited_entry_amount_is_found(app, world, tamper):
    _, _, _, _, wallet = _book(world, app)
    tamper("UPDATE ledger_entries SET amount = amount + 5 WHERE account_id = :a", a=wallet)
    record = _run(app)
    assert record.status == "failed"
    assert {"stored_balance", "transaction_sum", "unit_sum", "content_hash"} <= _checks_found(record)


def test_deleted_entry_is_found(app, world, tamper):
    _, _, _, _, wallet = _book(world, app)
    tamper("DELETE FROM ledger_entries WHERE account_id = :a", a=wallet)
    found = _checks_found(_run(app))
    assert {"stored_balance", "transaction_sum", "transaction_entries", "content_hash"} <= found


def test_changed_stored_balance_is_found(app, world, tamper):
    _, _, _, _, wallet = _book(world, app)
    tamper("UPDATE ledger_accounts SET balance = balance + 100 WHERE id = :a", a=wallet)
    record = _run(app)
    assert [(d.check, d.subject, d.expected, d.actual) for d in record.discrepancies] == [
        ("stored_balance", f"account:{wallet}", "50", "150")
    ]


def test_negative_wallet_is_found(app, world, tamper):
    _, _, _, _, wallet = _book(world, app)
    # Drop the CHECK by rewriting both the balance and the entry (SQLite and PostgreSQL alike refuse
    # a negative stored balance), so the derived sum goes negative instead.
    tamper("UPDATE ledger_entries SET amount = -7 WHERE account_id = :a", a=wallet)
    assert "negative_entries_sum" in _checks_found(_run(app))


def test_edited_memo_breaks_the_hash_chain(app, world, tamper):
    _book(world, app)
    tamper("UPDATE ledger_transactions SET memo = 'changed' WHERE id = (SELECT MIN(id) FROM ledger_transactions)")
    assert _checks_found(_run(app)) == {"content_hash", "chain_hash"}


def test_incremental_run_checks_only_what_is_new_and_finds_new_corruption(app, world, tamper):
    community, admin, alice, _, _ = _book(world, app)
    first = _run(app, "incremental")
    assert first.mode == "full"  # no previous run: the first incremental run checks everything
    # Nothing is open: the watermarks cover every committed transaction (ids are settled).
    with app.app_context(), app.extensions["greencoin_db"][1]() as s:
        newest = (s.scalar(func.max(Transaction.id)), s.scalar(func.max(Entry.id)))
    assert (first.upto_transaction_id, first.upto_entry_id) == newest
    second = _run(app, "incremental")
    assert second.mode == "incremental" and second.status == "passed"
    response = admin.post("/api/v1/adjustments", {"member_id": alice.id, "unit": "COIN", "amount": 9, "reason": "补发"})
    tx_id = response.json["id"]
    tamper("UPDATE ledger_entries SET amount = 10 WHERE transaction_id = :t AND amount = 9", t=tx_id)
    third = _run(app, "incremental")
    assert third.status == "failed"
    assert {"transaction_sum", "stored_balance"} <= _checks_found(third)


def test_failed_reconciliation_is_recorded_and_makes_readyz_not_ready(app, world, tamper, client):
    _, _, _, _, wallet = _book(world, app)
    assert client.get("/readyz").status_code == 200
    tamper("UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :a", a=wallet)
    record = _run(app)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["reconciliation"] == {
        "ok": False,
        "detail": {
            "id": record.id,
            "status": "failed",
            "mode": "full",
            "finished_at": record.finished_at.isoformat(),
            "discrepancies": 1,
        },
    }
    assert "greencoin_reconciliation_ok 0.0" in client.get("/metrics").get_data(as_text=True)
    with app.app_context():
        _, factory = app.extensions["greencoin_db"]
        with factory() as s:
            run = s.get(JobRun, record.job_run_id)
            assert run.status == "failed" and "1 discrepancies" in run.error
            assert s.get(Reconciliation, record.id).discrepancies[0].check == "stored_balance"


def test_changed_stock_is_found(app, world, tamper):
    from service.market.models import Product, StockMovement

    community = world.community()
    market = world.supermarket(community)
    with app.app_context():
        _, factory = app.extensions["greencoin_db"]
        with factory() as s:
            product = Product(supermarket_id=market.id, community_id=community.id, sku="RICE", name="大米", price=30, stock=5)
            s.add(product)
            s.flush()
            s.add(StockMovement(product_id=product.id, supermarket_id=market.id, reason="receipt", quantity=5, stock_after=5))
            s.commit()
            product_id = product.id
    assert _run(app).status == "passed"
    tamper("UPDATE products SET stock = 9 WHERE id = :p", p=product_id)
    record = _run(app)
    assert [(d.check, d.subject, d.expected, d.actual) for d in record.discrepancies] == [
        ("stock", f"product:{product_id}", "5", "9")
    ]


def test_discrepancy_details_are_for_city_wide_administrators_only(app, world, tamper):
    """Discrepancies name accounts and balances of every community: one community's staff see the
    status and counts, not another community's figures."""
    _, community_admin, _, _, wallet = _book(world, app)
    tamper("UPDATE ledger_accounts SET balance = balance + 100 WHERE id = :a", a=wallet)
    record = _run(app)
    city_admin = world.admin()
    detail = city_admin.get(f"/api/v1/reconciliations/{record.id}")
    assert detail.status_code == 200 and detail.json["discrepancies"][0]["subject"] == f"account:{wallet}"
    outsider = world.admin(world.community())
    supervisor = world.staff("supervisor", community=world.community())
    for caller in (community_admin, outsider, supervisor):
        assert caller.get(f"/api/v1/reconciliations/{record.id}").status_code == 403
        listed = caller.get("/api/v1/reconciliations").json
        assert listed[0]["status"] == "failed" and "discrepancies" not in listed[0]


def test_a_failed_book_stays_failed_until_a_full_check_passes(app, world, tamper, client, monkeypatch):
    """An incremental run after a failure checks everything again: otherwise a corruption in an
    account with no new entries would pass the next night and /readyz would turn green."""
    _, _, _, _, wallet = _book(world, app)
    assert _run(app, "full").status == "passed"
    tamper("UPDATE ledger_accounts SET balance = balance + 100 WHERE id = :a", a=wallet)
    assert _run(app, "full").status == "failed"
    again = _run(app, "incremental")
    assert again.status == "failed" and again.mode == "full"
    assert client.get("/readyz").status_code != 200
    tamper("UPDATE ledger_accounts SET balance = balance - 100 WHERE id = :a", a=wallet)
    assert _run(app, "incremental").status == "passed"
    assert _run(app, "incremental").mode == "incremental"


def test_the_office_page_shows_discrepancies_and_job_runs_only_to_whom_the_api_does(app, world, tamper):
    """The page reads through jobs.operations like the API: discrepancies name accounts of every
    community (city-wide administrators only), job runs are for administrators."""
    from tests.web.pages import staff_browser, text_of

    community, _, _, _, wallet = _book(world, app)
    tamper("UPDATE ledger_accounts SET balance = balance + 1 WHERE id = :a", a=wallet)
    assert _run(app).status == "failed"
    pages = {
        who: text_of(staff_browser(app, caller).get("/office/reconciliation"))
        for who, caller in (
            ("city", world.admin()),
            ("community", world.admin(community)),
            ("supervisor", world.staff("supervisor", community=community)),
        )
    }
    assert all('data-testid="latest-reconciliation"' in html for html in pages.values())
    assert "stored_balance" in pages["city"]
    assert "stored_balance" not in pages["community"] and "stored_balance" not in pages["supervisor"]
    assert "1 discrepancies" in pages["community"]  # the failed job run's error
    assert "1 discrepancies" not in pages["supervisor"]


def _unsealed_credit(world, app, member, amount: int, age: dt.timedelta) -> None:
    """A credit committed ``age`` ago (as the sealer would find it), not sealed yet."""
    with ledger.posting_time(ledger.utcnow() - age):
        world.credit(member, amount)


def test_lateness_to_seal_is_judged_at_the_snapshot_not_when_a_long_run_ends(app, world, client, monkeypatch):
    """A transaction 45 s old when the snapshot was taken is not late, however long the run takes."""
    community = world.community()
    _unsealed_credit(world, app, world.member(community), 5, dt.timedelta(seconds=45))
    slow = verification.stored_balances

    def slow_check(session, **kwargs):
        time.sleep(16)  # the run ends more than a minute after the transaction was made
        return slow(session, **kwargs)

    monkeypatch.setattr(verification, "stored_balances", slow_check)
    record = _run(app)
    assert record.status == "passed", [d.check for d in record.discrepancies]
    assert "warnings" not in record.counts
    assert client.get("/readyz").status_code == 200


def test_late_to_seal_is_a_warning_that_fails_only_when_it_persists(app, world, client):
    community = world.community()
    _unsealed_credit(world, app, world.member(community), 5, dt.timedelta(days=2))
    first = _run(app)
    assert first.status == "passed" and first.counts["warnings"] == {"late_to_seal": 1}
    assert client.get("/readyz").status_code == 200
    assert "greencoin_reconciliation_late_to_seal 1.0" in client.get("/metrics").get_data(as_text=True)

    _, factory = app.extensions["greencoin_db"]
    with factory() as s:  # as if that run was last night: the transaction, already late then, is still unsealed
        s.get(Reconciliation, first.id).started_at = first.started_at - dt.timedelta(hours=20)
        s.commit()
    second = _run(app)
    assert second.status == "failed"
    assert [(d.check, d.actual) for d in second.discrepancies] == [("unsealed_transactions", "1")]
    assert client.get("/readyz").status_code == 503

    ledger.run_in_transaction(factory, ledger.seal)
    third = _run(app)
    assert third.status == "passed" and "warnings" not in third.counts
    assert client.get("/readyz").status_code == 200


def test_every_balance_checkpoint_is_checked_against_its_entries(app, world, tamper):
    community, admin, alice, _, _ = _book(world, app)
    _, factory = app.extensions["greencoin_db"]
    ledger.run_in_transaction(factory, ledger.checkpoint_system_accounts)
    assert _run(app, "full").status == "passed"
    admin.post("/api/v1/adjustments", {"member_id": alice.id, "unit": "COIN", "amount": 4, "reason": "补发"})
    ledger.run_in_transaction(factory, ledger.seal)
    ledger.run_in_transaction(factory, ledger.checkpoint_system_accounts)  # a second checkpoint on top
    assert _run(app, "incremental").status == "passed"
    tamper("UPDATE ledger_balance_checkpoints SET balance = balance - 30 WHERE id = (SELECT min(id) FROM ledger_balance_checkpoints)")
    full = _run(app, "full")
    assert full.status == "failed"
    # The edited checkpoint, and the one after it is still right: each is checked from the entries.
    assert [d.check for d in full.discrepancies] == ["checkpoint"]
    tamper("UPDATE ledger_balance_checkpoints SET balance = balance + 1 WHERE id = (SELECT max(id) FROM ledger_balance_checkpoints)")
    assert "checkpoint" in _checks_found(_run(app, "incremental"))  # after a failure: everything again


def test_a_detail_the_passes_cannot_read_is_still_found_by_the_checks_one_by_one(app, world, tamper):
    # Not valid jsonb: PostgreSQL's full passes fail on it and the run checks one check at a time.
    _book(world, app)
    tamper("UPDATE ledger_transactions SET details = '{\"bad\": \"\\u0000\"}' WHERE id = (SELECT MIN(id) FROM ledger_transactions)")
    record = _run(app)
    assert record.status == "failed" and "content_hash" in _checks_found(record)


def test_entries_whose_account_was_deleted_are_found(app, world, tamper, database_url):
    """An attacker deletes a wallet's account row (foreign keys off): its entries still balance their
    transactions, so only their missing account tells. Full runs (the passes on PostgreSQL, the
    checks one by one on SQLite) and incremental runs report each such entry."""
    community, admin, alice, _, wallet = _book(world, app)
    assert _run(app, "incremental").status == "passed"
    response = admin.post("/api/v1/adjustments", {"member_id": alice.id, "unit": "COIN", "amount": 4, "reason": "补发"})
    assert response.status_code == 201, response.json
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        connection.execute("PRAGMA foreign_keys=OFF")
        for statement in drop_append_only_ddl("sqlite"):
            connection.execute(statement)
        connection.execute("DELETE FROM ledger_accounts WHERE id = ?", (wallet,))
        connection.close()
    else:
        tamper("DELETE FROM ledger_accounts WHERE id = :a", a=wallet)
    with app.app_context(), app.extensions["greencoin_db"][1]() as s:
        orphans = s.scalars(select(Entry.id).where(Entry.account_id == wallet).order_by(Entry.id)).all()
    assert len(orphans) == 2
    incremental = _run(app, "incremental")  # the new adjustment's entry only
    assert incremental.status == "failed"
    assert {d.subject for d in incremental.discrepancies if d.check == "entry_unit"} == {f"entry:{orphans[-1]}"}
    full = _run(app, "full")
    assert {d.subject for d in full.discrepancies if d.check == "entry_unit"} == {f"entry:{e}" for e in orphans}
