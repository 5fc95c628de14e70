"""The city-size demo generator at a tiny size: a valid book the nightly jobs run on."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import func, select

from ledger import chain
from ledger.models import Account, Entry, Transaction
from ledger.posting import request_hash
from service import demo_city
from service.bookkeeping import expiry
from service.community.models import Community, Station, Supermarket
from service.conduct.models import Disclosure
from service.extensions import db
from service.jobs import reconciliation
from service.market.models import Product
from service.members.models import Household, Member, VolunteerStar
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
