"""The monthly disclosure accounts for every coin and minute that entered or left residents' wallets:
its sections' totals equal the ledger's per-kind sums for the month, computed here independently."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.pool import NullPool

import ledger as ledger_db
from ledger import AccountType
from ledger.models import Account, Entry, Transaction
from service.community.models import Community
from service.conduct import disclosure
from service.extensions import db
from service.localtime import midnight_utc as local_midnight_utc
from service.market.models import Refund
from tests.service.volunteering.support import at, build_desk, record_body
from tests.web.pages import stocked_shop


def _month_sums(app, community_id: int, month: str) -> dict:
    """The ledger's sums per kind and unit over the month's resident and household wallet entries."""
    first = dt.date.fromisoformat(f"{month}-01")
    after = (first + dt.timedelta(days=32)).replace(day=1)
    tz = app.config["TIMEZONE"]
    with app.app_context():
        rows = db.session.execute(
            select(Transaction.kind, Entry.unit, func.sum(Entry.amount))
            .join(Entry, Entry.transaction_id == Transaction.id)
            .join(Account, Account.id == Entry.account_id)
            .where(Transaction.community_id == community_id,
                   Transaction.created_at >= local_midnight_utc(first, tz),
                   Transaction.created_at < local_midnight_utc(after, tz),
                   Account.type.in_((AccountType.MEMBER_WALLET.value, AccountType.HOUSEHOLD_WALLET.value)))
            .group_by(Transaction.kind, Entry.unit)
        ).all()
    sums: dict = defaultdict(lambda: {"COIN": 0, "HOUR": 0})
    for kind, unit, amount in rows:
        sums[kind][unit] += int(amount)
    return dict(sums)


def _busy_month(world):
    """A month with every kind of movement: hours, awards, a deduction short of coins, a reversal,
    an adjustment, an hour gift, baskets refunded by line and whole."""
    desk = build_desk(world)
    community = desk.community
    second = world.member(community, name="周八")
    for volunteer, start, end in ((desk.member, at(1, 1), at(1, 3)), (second, at(1, 4), at(1, 5))):
        made = desk.staff1.post("/api/v1/service-records", record_body(desk, start, end, volunteer_id=volunteer.id))
        assert made.status_code == 201, made.json
        assert desk.staff2.post(f"/api/v1/service-records/{made.json['id']}/approve").status_code == 200
    indicators = desk.admin.get(f"/api/v1/indicators?community_id={community.id}").json
    blood = next(i for i in indicators if i["code"] == "PW-BLOOD")
    fine = desk.admin.post("/api/v1/indicators", {"community_id": community.id, "code": "T-FINE", "name": "乱扔垃圾",
                                                  "category": "environment", "points": -30}).json
    bonus = desk.staff1.post("/api/v1/conduct-awards", {"indicator_id": blood["id"], "member_id": desk.member.id,
                                                        "note": "献血"}).json
    desk.staff1.post("/api/v1/conduct-awards", {"indicator_id": blood["id"], "member_id": second.id, "note": "献血"})
    poor = world.member(community, name="吴九")
    world.credit(poor, 10)
    deduction = desk.staff1.post("/api/v1/conduct-awards", {"indicator_id": fine["id"], "member_id": poor.id,
                                                            "note": "河道倾倒"})
    assert deduction.status_code == 201, deduction.json
    reversed_ = desk.admin.post(f"/api/v1/conduct-awards/{bonus['id']}/reverse", {"reason": "重复登记"})
    assert reversed_.status_code == 200, reversed_.json
    assert desk.admin.post("/api/v1/adjustments", {"member_id": second.id, "unit": "COIN", "amount": 50,
                                                   "reason": "旧台账补录"}).status_code == 201
    gift = world.resident(desk.member).post("/api/v1/hour-transfers", {
        "from_member_id": desk.member.id, "to_member_id": second.id, "minutes": 30, "relation": "parent"})
    assert gift.status_code == 201, gift.json
    shop, _products = stocked_shop(world, community, [("OIL1", "食用油", 15, 5), ("SOAP", "肥皂", 5, 5)])
    cashier = world.staff("cashier", community=community, supermarket=shop)
    baskets = []
    for _ in range(2):
        basket = cashier.post("/api/v1/redemptions", {"supermarket_id": shop.id, "member_id": second.id,
                                                      "lines": [{"sku": "OIL1", "quantity": 1}, {"sku": "SOAP", "quantity": 2}]})
        assert basket.status_code == 201, basket.json
        baskets.append(basket.json)
    line = next(ln for ln in baskets[0]["lines"] if ln["sku"] == "SOAP")
    assert cashier.post(f"/api/v1/redemptions/{baskets[0]['id']}/refund",
                        {"reason": "破损", "lines": [{"line_id": line["id"], "quantity": 1}]}).status_code == 201
    assert cashier.post(f"/api/v1/redemptions/{baskets[1]['id']}/refund", {"reason": "整单退"}).status_code == 201
    return community


def test_the_disclosure_ties_out_to_the_ledgers_sums_for_the_month(app, world):
    community = _busy_month(world)
    month = dt.datetime.now(ZoneInfo(app.config["TIMEZONE"])).strftime("%Y-%m")
    with app.app_context():
        body = disclosure.build(db.session, db.session.get(Community, community.id), month, app.config["TIMEZONE"])
    ledger = _month_sums(app, community.id, month)
    assert body["ledger_sums"] == ledger
    assert {"volunteer_hours", "conduct_award", "conduct_deduction", "conduct_award.reversal", "adjustment",
            "hour_transfer", "redemption", "redemption_refund", "redemption.reversal"} <= set(ledger)

    def ledger_of(*kinds, unit="COIN"):
        return sum(ledger.get(k, {}).get(unit, 0) for k in kinds)

    totals = body["totals"]
    assert totals["volunteer_minutes"] == ledger_of("volunteer_hours", unit="HOUR") == 180
    assert totals["volunteer_coins"] == ledger_of("volunteer_hours") == 30
    assert [(v["name"], v["minutes"], v["records"]) for v in body["volunteer_hours"]] == [("张*丰", 120, 1), ("周*", 60, 1)]
    credited = [r for r in body["rows"] if r["kind"] in ("award", "deduction")]
    assert sum(r["coins"] for r in credited) == ledger_of("conduct_award", "conduct_deduction")
    assert totals["deduction_coins_taken"] == 10 and totals["deduction_shortfall"] == 20
    assert sum(r["amount"] for r in body["reversals"]) == ledger_of("conduct_award.reversal") == -20
    [reversal] = body["reversals"]
    assert reversal["reverses"]["kind"] == "conduct_award" and reversal["reason"] == "重复登记"
    assert sum(a["amount"] for a in body["adjustments"] if a["unit"] == "COIN") == ledger_of("adjustment", "opening_balance")
    assert {a["reason"] for a in body["adjustments"]} >= {"旧台账补录"}
    assert sorted(t["minutes"] for t in body["time_bank"]) == [-30, 30]
    assert totals["coins_refunded"] - totals["coins_redeemed"] == ledger_of(
        "redemption", "redemption_refund", "redemption.reversal") == -(2 * 25) + 5 + 25
    assert body["other"] == []  # every kind of the month has its own section
    assert body["tie_out"]["ok"] is True, body["tie_out"]
    every_coin = sum(units["COIN"] for units in ledger.values())
    assert sum(r["shown"] for r in body["tie_out"]["sections"] if r["unit"] == "COIN") == every_coin
    assert body["issuance"]["coins_issued"] == ledger_of("volunteer_hours", "conduct_award", "conduct_deduction",
                                                         "conduct_award.reversal", "adjustment", "opening_balance")


def test_the_tie_out_names_a_section_whose_rows_do_not_match_the_ledger(app, world, database_url):
    community = _busy_month(world)
    month = dt.datetime.now(ZoneInfo(app.config["TIMEZONE"])).strftime("%Y-%m")
    engine = ledger_db.make_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:  # edited past the append-only guard, as an attacker would
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET session_replication_role = replica"))
        else:
            triggers = connection.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'redemption_refunds'")).scalars()
            for name in list(triggers):
                connection.execute(text(f'DROP TRIGGER "{name}"'))
        connection.execute(Refund.__table__.update().where(Refund.whole.is_(False)).values(total=0))
    engine.dispose()
    with app.app_context():
        body = disclosure.build(db.session, db.session.get(Community, community.id), month, app.config["TIMEZONE"])
    wrong = {(r["section"], r["unit"]) for r in body["tie_out"]["sections"] if not r["ok"]}
    assert body["tie_out"]["ok"] is False and wrong == {("supermarkets", "COIN")}


def test_the_notice_board_sheet_has_the_notice_period_contact_chain_head_and_qr_in_the_readers_language(app, world):
    from tests.web.conftest import compile_translations

    compile_translations()  # the sheet is checked in Chinese even when pytest runs alone
    community = _busy_month(world)
    admin = world.admin(community)
    assert admin.patch(f"/api/v1/communities/{community.id}", {"objection_contact": "村务监督委员会 王主任",
                                                               "notice_period_days": 10}).status_code == 200
    with app.app_context():
        import ledger

        db.run(ledger.seal)
    today = dt.datetime.now(ZoneInfo(app.config["TIMEZONE"])).date()
    month = today.strftime("%Y-%m")
    with app.app_context():
        body = disclosure.build(db.session, db.session.get(Community, community.id), month, app.config["TIMEZONE"])
        head = ledger_db.chain_head(db.session)
    after = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    assert body["notice"] == {"from": after.isoformat(), "to": (after + dt.timedelta(days=9)).isoformat(), "days": 10}
    assert body["chain_head"] == {"seq": head.seq, "hash": head.chain_hash} and head.seq > 0
    with app.test_request_context():
        html = disclosure.as_html(body, None, app.config["TIMEZONE"])
    assert "公示期" in html and after.isoformat() in html and "村务监督委员会 王主任" in html
    assert head.chain_hash in html and "<svg" in html and "志愿服务时长" in html and "张*丰" in html
    assert "张三丰" not in html
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        english = disclosure.as_html(body, None, app.config["TIMEZONE"])
    assert "Notice period" in english and "Volunteer hours" in english and 'lang="en"' in english
    csv_text = disclosure.as_csv(body)
    assert "志愿服务 volunteer hours" in csv_text and "公示期 notice period" in csv_text and head.chain_hash in csv_text
