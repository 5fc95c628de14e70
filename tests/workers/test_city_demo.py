"""The city-size demo generator at a tiny size: a valid book the nightly jobs run on."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import func, select

from ledger import AccountType, chain
from ledger.models import Account, Entry, Transaction
from ledger.posting import request_hash
from service import demo_city
from service.auth.access import Principal
from service.auth.models import Role, Staff
from service.bookkeeping import expiry
from service.community.models import Community, Station, Supermarket
from service.conduct import disclosure
from service.conduct.models import ConductAward, Disclosure
from service.conduct.operations import reverse_award
from service.extensions import db
from service.jobs import reconciliation
from service.localtime import date_of
from service.market import checks, counter, refunds
from service.market.models import (
    Product,
    Redemption,
    RedemptionLine,
    Refund,
    RefundLine,
    StockMovement,
    StockReceipt,
)
from service.members.models import Household, Member, VolunteerStar
from service.volunteering.models import ServiceRecord
from workers import jobs

TINY = demo_city.CitySize(communities=2, residents=40, entries=700, stations=2, supermarkets=1)


def _load(app, size=TINY):
    with app.app_context():
        return demo_city.load_city(db.session, size, seed=7)


def test_a_tiny_city_is_a_sound_book_with_its_residents_and_places(jobs_app):
    city, history = _load(jobs_app)
    engine, factory = jobs_app.extensions["greencoin_db"]
    record = reconciliation.run_reconciliation(factory, engine, mode=reconciliation.FULL, trigger="manual")
    assert (record.status, record.discrepancy_count) == ("passed", 0)
    with jobs_app.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(Community)) == 2
        assert s.scalar(select(func.count()).select_from(Station)) == 4
        assert s.scalar(select(func.count()).select_from(Supermarket)) == 2
        assert s.scalar(select(func.count()).select_from(Product)) > 0
        assert s.scalar(select(func.count()).select_from(Member)) == 80 == len(city.residents)
        assert s.scalar(select(func.count()).select_from(Household)) == city.households
        # every resident's wallets are the service's own (found by their codes)
        member_id, _community, coin, hour = city.residents[-1]
        assert s.scalar(select(Account.id).where(Account.code == f"member_wallet:{member_id}:COIN")) == coin
        assert s.scalar(select(Account.id).where(Account.code == f"member_wallet:{member_id}:HOUR")) == hour
        assert s.scalar(select(func.count()).select_from(Entry)) == history.entry_count > 600
        kinds = set(s.scalars(select(Transaction.kind).distinct()))
        assert {"volunteer_hours", "conduct_award", "redemption", "adjustment"} <= kinds
        assert kinds & {"redemption.reversal", "conduct_award.reversal"}
        first, last = s.execute(select(func.min(Transaction.created_at), func.max(Transaction.created_at))).one()
        assert last - first > dt.timedelta(days=300)  # a year of history
        assert len(demo_city.city_logins(s)) == 4
        # every transaction carries the hashes ledger.post would have made for it
        for tx in s.scalars(select(Transaction)):
            lines = s.execute(select(Entry.account_id, Entry.unit, Entry.amount)
                              .where(Entry.transaction_id == tx.id)).all()
            fields = {"kind": tx.kind, "community_id": tx.community_id, "memo": tx.memo, "actor_id": tx.actor_id,
                      "location": tx.location, "details": tx.details, "reverses_id": tx.reverses_id,
                      "related_id": tx.related_id}
            assert tx.request_hash == request_hash(**fields, lines=sorted((a, m) for a, _u, m in lines))
            assert tx.content_hash == chain.content_hash(**fields, idempotency_key=tx.idempotency_key,
                                                         created_at=tx.created_at, lines=lines)


def _wallet_sums(s, kind: str) -> dict[str, int]:
    """What transactions of ``kind`` moved on residents' wallets, by unit."""
    rows = s.execute(
        select(Entry.unit, func.sum(Entry.amount)).join(Account, Account.id == Entry.account_id)
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .where(Transaction.kind == kind, Account.type == AccountType.MEMBER_WALLET.value).group_by(Entry.unit)
    ).all()
    return {unit: int(total) for unit, total in rows}


def _count(s, query) -> int:
    return s.scalar(select(func.count()).select_from(query.subquery()))


def test_every_generated_posting_has_the_records_the_service_would_have_written(jobs_app):
    _load(jobs_app)
    with jobs_app.app_context():
        s = db.session
        by_kind = dict(s.execute(select(Transaction.kind, func.count()).group_by(Transaction.kind)).all())
        # volunteer hours: one approved service record per posting, linked and keyed as approval links them
        records = s.execute(select(ServiceRecord, Transaction).join(
            Transaction, Transaction.id == ServiceRecord.transaction_id)).all()
        assert len(records) == s.scalar(select(func.count()).select_from(ServiceRecord)) == by_kind["volunteer_hours"]
        for record, tx in records:
            assert (record.status, tx.kind, tx.idempotency_key) == (
                "approved", "volunteer_hours", f"service-record:{record.id}:approve")
            assert tx.details["service_record_id"] == record.id and tx.details["minutes"] == record.minutes
            assert record.started_at < record.ended_at <= record.approved_at == tx.created_at
            assert record.service_date == date_of(record.started_at)
            assert record.recorded_by != record.verified_by  # four eyes
        assert sum(r.minutes for r, _ in records) == _wallet_sums(s, "volunteer_hours")["HOUR"]
        assert sum(r.coins for r, _ in records) == _wallet_sums(s, "volunteer_hours")["COIN"]
        # conduct: one credited award per posting, its indicator's points; reversed ones marked reversed
        awards = s.scalars(select(ConductAward)).all()
        assert len(awards) == by_kind["conduct_award"] > 0
        assert sum(a.amount_posted for a in awards) == _wallet_sums(s, "conduct_award")["COIN"]
        reversed_awards = [a for a in awards if a.status == "reversed"]
        assert len(reversed_awards) == by_kind.get("conduct_award.reversal", 0)
        for award in awards:
            tx = s.get(Transaction, award.transaction_id)
            assert (tx.kind, tx.idempotency_key, tx.details["award_id"]) == (
                "conduct_award", f"conduct-award:{award.id}:credit", award.id)
            if award.status == "reversed":
                undo = s.get(Transaction, award.reversal_transaction_id)
                assert (undo.reverses_id, undo.idempotency_key) == (tx.id, f"conduct-award:{award.id}:reverse")
            else:
                assert award.status == "credited" and award.reversal_transaction_id is None
        # baskets: one redemption per posting with lines of its supermarket's products; whole refunds
        assert _count(s, select(Redemption.id)) == by_kind["redemption"] > 0
        assert sum(s.scalars(select(Redemption.total))) == -_wallet_sums(s, "redemption")["COIN"]
        assert _count(s, select(Refund.id).where(Refund.whole.is_(True))) == by_kind.get("redemption.reversal", 0) > 0
        assert sum(s.scalars(select(Refund.total))) == _wallet_sums(s, "redemption.reversal")["COIN"]
        assert _count(s, select(RedemptionLine.id).join(Product, Product.id == RedemptionLine.product_id)
                      .join(Redemption, Redemption.id == RedemptionLine.redemption_id)
                      .where(Product.supermarket_id != Redemption.supermarket_id)) == 0
        assert _count(s, select(RefundLine.id)) > 0
        assert _count(s, select(StockMovement.id).where(StockMovement.reason == "redemption")) == _count(
            s, select(RedemptionLine.id))
        assert _count(s, select(StockReceipt.id)) >= 2  # the opening donations (and restocks when shelves ran low)
        assert checks.stock_discrepancies(s) == [] and checks.redemption_discrepancies(s) == []


def test_the_service_treats_generated_records_as_its_own(jobs_app):
    _load(jobs_app)
    with jobs_app.app_context():
        s = db.session
        admin = Principal(role=Role.ADMIN, staff_id=s.scalar(select(Staff.id).where(Staff.username == "city-admin")))
        basket = s.scalars(select(Redemption).where(~Redemption.refunds.any()).order_by(Redemption.id)).first()
        key = s.get(Transaction, basket.transaction_id).idempotency_key
        line = basket.lines[0]
        again = counter.redeem(s, admin, supermarket_id=basket.supermarket_id, member_id=basket.member_id,
                               lines=[{"sku": line.sku, "quantity": line.quantity}], idempotency_key=key)
        assert again.id == basket.id  # a replayed basket returns the generated one
        refund = refunds.refund_redemption(s, admin, redemption_id=basket.id, reason="退货", idempotency_key="t:1")
        assert refund.whole and refund.total == basket.total
        award = next(a for a in s.scalars(select(ConductAward).where(ConductAward.status == "credited"))
                     if s.scalar(select(Account.balance).where(Account.code == f"member_wallet:{a.member_id}:COIN"))
                     >= a.amount_posted)
        assert reverse_award(s, admin, award.id, "核实后撤销").status == "reversed"
        s.commit()
        assert checks.stock_discrepancies(s) == [] and checks.redemption_discrepancies(s) == []


def test_a_generated_community_s_disclosure_ties_out_every_month(jobs_app):
    city, _history = _load(jobs_app)
    with jobs_app.app_context():
        s = db.session
        first, last = s.execute(select(func.min(Transaction.created_at), func.max(Transaction.created_at))).one()
        timezone = jobs_app.config["TIMEZONE"]
        month, rows, redeemed = date_of(first, timezone).replace(day=1), 0, 0
        while month <= date_of(last, timezone):
            for community in s.scalars(select(Community)):
                body = disclosure.build(s, community, month.strftime("%Y-%m"), timezone)
                assert body["tie_out"]["ok"], (month, body["tie_out"])
                assert not body["other"]
                rows += len(body["rows"])
                redeemed += sum(m["coins_redeemed"] for m in body["supermarkets"])
            month = (month + dt.timedelta(days=32)).replace(day=1)
        assert rows > 0 and redeemed > 0


def test_star_tiers_disclosures_and_expiry_run_on_a_tiny_city(jobs_app, yesterday):
    _load(jobs_app)
    jobs_app.config["STAR_THRESHOLDS_HOURS"] = (10, 30, 60)  # a tiny city's year holds few hours
    stars = jobs.apply_star_tiers(yesterday.isoformat())
    assert stars[0]["done"] and stars[0]["counts"]["raised"] > 0
    last_of_month = yesterday.replace(day=1) - dt.timedelta(days=1)
    published = jobs.publish_disclosures(last_of_month.isoformat())
    assert published[0]["counts"]["communities"] == 2
    cleared_on = expiry.expiry_date(demo_city.EXPIRY_MONTH_DAY, yesterday.year)
    if cleared_on > yesterday:
        cleared_on = expiry.expiry_date(demo_city.EXPIRY_MONTH_DAY, yesterday.year - 1)
    expired = jobs.expire_coins(cleared_on.isoformat())
    assert expired[0]["counts"]["communities"] == 2 and expired[0]["counts"]["wallets"] > 0
    jobs.seal_chain()
    assert jobs.reconcile(reconciliation.FULL, manual=True)["status"] == "passed"
    with jobs_app.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(VolunteerStar)) > 0
        bodies = s.scalars(select(Disclosure.body)).all()
        assert len(bodies) == 2 and all(body["ledger_sums"] for body in bodies)
        assert all(body["tie_out"]["ok"] for body in bodies)
        assert sum(len(body["rows"]) for body in bodies) > 0
        assert sum(m["redemptions"] for body in bodies for m in body["supermarkets"]) > 0


def test_demo_command_builds_a_town_size_city_and_refuses_a_second(app, monkeypatch):
    from service import cli

    monkeypatch.setattr(cli, "_app", lambda: app)
    runner = CliRunner()
    args = ["demo", "--size", "town", "--communities", "1", "--residents", "20", "--entries", "300"]
    result = runner.invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    assert "city-admin" in result.output
    again = runner.invoke(cli.main, args)
    assert again.exit_code != 0 and "already has data" in again.output
    refused = runner.invoke(cli.main, ["demo", "--entries", "300"])
    assert refused.exit_code == 2 and "--size town|city" in refused.output
