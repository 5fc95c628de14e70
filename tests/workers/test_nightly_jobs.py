"""The nightly jobs do their work once per business date, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

import ledger
from ledger import Transaction, Unit
from service.bookkeeping import expiry
from service.community.operations import expiry_sink
from service.conduct import disclosure
from service.conduct.models import ConductAward
from service.jobs.models import JobRun
from service.localtime import midnight_utc as local_midnight_utc
from service.localtime import today as local_today
from service.members import stars
from service.members.models import StarChange
from service.volunteering.models import FraudAlert, ServiceRecord
from workers import jobs


def _runs(query, job):
    return query(lambda s: [(r.business_date, r.status) for r in s.scalars(select(JobRun).where(JobRun.job == job))])


def test_star_rises_once_per_date_and_a_reversal_lowers_it_with_the_reason(
    jobs_app, world, post_hours, reverse, query, yesterday
):
    community = world.community()
    member = world.member(community)
    post_hours(member, 60 * 60)
    approval = post_hours(member, 45 * 60)  # 105 h: star 1
    post_hours(member, 200 * 60, kind="hour_transfer")  # not lifetime hours: no star 2
    assert jobs.apply_star_tiers() == [
        {"date": yesterday.isoformat(), "done": True, "counts": {"volunteers": 1, "raised": 1, "lowered": 0}}
    ]
    assert jobs.apply_star_tiers() == []  # nothing pending
    assert jobs.apply_star_tiers(yesterday.isoformat())[0]["done"] is False  # that date is done
    reversal = reverse(approval, "签到表重复")
    today = yesterday + dt.timedelta(days=1)
    assert jobs.apply_star_tiers(today.isoformat())[0]["counts"] == {"volunteers": 1, "raised": 0, "lowered": 1}
    admin = world.admin(community)
    body = admin.get(f"/api/v1/members/{member.id}/stars").json
    assert body["star"] == 0 and body["lifetime_minutes"] == 60 * 60
    first, second = body["history"]
    assert (first["from_star"], first["to_star"], first["business_date"]) == (0, 1, yesterday.isoformat())
    assert (second["from_star"], second["to_star"], second["business_date"]) == (1, 0, today.isoformat())
    assert second["transaction_id"] == reversal
    assert f"reversal of transaction {approval}" in second["reason"] and "签到表重复" in second["reason"]
    assert _runs(query, "star_tiers") == [(yesterday, "succeeded"), (today, "succeeded")]


def test_annual_expiry_clears_unspent_coins_to_the_sink_once(jobs_app, world, query, app):
    today = local_today(app.config["TIMEZONE"])
    community = world.community(coin_expiry_month_day=today.strftime("%m-%d"))
    admin = world.admin(community)
    household = world.household(community)
    member = world.member(community, household=household)
    world.credit(member, 50)
    world.credit(household, 20)
    admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": -10, "reason": "更正"})
    world.credit(member, 30, Unit.HOUR)
    warning = admin.get(f"/api/v1/members/{member.id}/expiring").json
    assert warning == {
        "member_id": member.id, "expires_on": today.isoformat(), "coins": 40, "household_coins": 20, "within_days": 30,
    }
    result = jobs.expire_coins(today.isoformat())
    assert result[0]["counts"] == {"communities": 1, "wallets": 2, "coins": 60}
    assert jobs.expire_coins(today.isoformat())[0]["done"] is False
    assert world.balance(member) == 0 and world.balance(household) == 0
    assert world.balance(member, Unit.HOUR) == 30  # hours never expire
    sink_total = query(
        lambda s: s.scalar(
            select(func.count()).select_from(Transaction).where(Transaction.kind == "coin_expiry")
        )
    )
    assert sink_total == 2
    assert query(lambda s: ledger.balance(s, expiry_sink(s, community.id).id)) == 60
    assert world.invariants() == {}


def test_coins_earned_after_the_expiry_date_are_kept(jobs_app, world, yesterday):
    community = world.community(coin_expiry_month_day=yesterday.strftime("%m-%d"))
    member = world.member(community)
    world.credit(member, 25)  # credited today, after yesterday's clearing date
    assert jobs.expire_coins(yesterday.isoformat())[0]["counts"] == {"communities": 1, "wallets": 0, "coins": 0}
    assert world.balance(member) == 25


def test_an_adjustment_after_the_expiry_date_and_its_reversal_let_no_coins_escape(jobs_app, world, yesterday, app):
    """A credit after the clearing date that was reversed is not "new" coins: the reversal nets it out,
    and a refund of coins spent gives back old coins, which expire with the rest."""
    community = world.community(coin_expiry_month_day=yesterday.strftime("%m-%d"))
    admin = world.admin(community)
    member = world.member(community)
    with ledger.posting_time(local_midnight_utc(yesterday, app.config["TIMEZONE"])):
        world.credit(member, 60)  # earned on the clearing date: expires
    for amount in (100, -20):  # today, after the clearing date, each reversed at once
        made = admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": amount, "reason": "录错"})
        assert made.status_code == 201, made.json
        undone = admin.post(f"/api/v1/transactions/{made.json['id']}/reverse", {"reason": "撤销"})
        assert undone.status_code == 201, undone.json
    world.credit(member, 5)  # really new: kept
    assert world.balance(member) == 65
    assert jobs.expire_coins(yesterday.isoformat())[0]["counts"] == {"communities": 1, "wallets": 1, "coins": 60}
    assert world.balance(member) == 5
    assert world.invariants() == {}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_coins_earned_while_the_expiry_runs_are_kept(jobs_app, world, yesterday, app, monkeypatch):
    """A credit that commits after the run summed the late credits but before it locks the wallet
    (real threads on PostgreSQL) is not expired with the old coins."""
    community = world.community(coin_expiry_month_day=yesterday.strftime("%m-%d"))
    member = world.member(community)
    with ledger.posting_time(local_midnight_utc(yesterday, app.config["TIMEZONE"])):
        world.credit(member, 50)  # earned on the clearing date: expires
    original = ledger.lock_accounts

    def credit_then_lock(session, ids):
        if world.balance(member) == 50:
            world.credit(member, 7)  # another connection, committed now: after the clearing date
        return original(session, ids)

    monkeypatch.setattr(ledger, "lock_accounts", credit_then_lock)
    assert jobs.expire_coins(yesterday.isoformat())[0]["counts"] == {"communities": 1, "wallets": 1, "coins": 50}
    assert world.balance(member) == 7


def test_no_expiry_warning_without_an_expiry_date(world):
    community = world.community()
    member = world.member(community)
    world.credit(member, 5)
    body = world.admin(community).get(f"/api/v1/members/{member.id}/expiring").json
    assert body["expires_on"] is None and body["coins"] == 0


def _indicators(admin, community) -> dict:
    """The community's default indicators (a new community starts with them), by code."""
    listed = admin.get(f"/api/v1/indicators?community_id={community.id}")
    assert listed.status_code == 200, listed.json
    return {i["code"]: i for i in listed.json}


def test_notice_period_awards_are_credited_when_due_unless_disputed(jobs_app, world, query, yesterday, app):
    community = world.community(notice_period_days=1)
    admin = world.admin(community)
    supervisor = world.staff("supervisor", community=community)
    blood = _indicators(admin, community)["PW-BLOOD"]
    alice, bob = world.member(community, name="张三丰"), world.member(community, name="李四")
    awards = []
    for member in (alice, bob):
        response = admin.post("/api/v1/conduct-awards", {"indicator_id": blood["id"], "member_id": member.id, "note": "献血"})
        assert response.status_code == 201, response.json
        awards.append(response.json["id"])
    flag = supervisor.post("/api/v1/flags", {"award_id": awards[1], "reason": "证明材料不全"})
    assert flag.status_code == 201, flag.json
    today = local_today(app.config["TIMEZONE"])
    assert jobs.credit_notice_period_awards(today.isoformat())[0]["counts"] == {"credited": 1}
    assert world.balance(alice) == 20 and world.balance(bob) == 0
    statuses = query(lambda s: dict(s.execute(select(ConductAward.id, ConductAward.status)).all()))
    assert statuses == {awards[0]: "credited", awards[1]: "disputed"}


def test_flag_resolution_keep_or_reverse_is_kept_and_shown_in_the_disclosure(
    jobs_app, world, query, app, monkeypatch
):
    community = world.community()
    admin = world.admin(community)
    supervisor = world.staff("supervisor", community=community)
    indicators = _indicators(admin, community)
    blood, dump = indicators["PW-BLOOD"], indicators["EN-DUMP"]
    alice, bob = world.member(community, name="张三丰"), world.member(community, name="李四")
    household = world.household(community, name="王家")
    world.credit(household, 5)
    kept = admin.post("/api/v1/conduct-awards", {"indicator_id": blood["id"], "member_id": alice.id, "note": "献血"}).json
    doubtful = admin.post("/api/v1/conduct-awards", {"indicator_id": blood["id"], "member_id": bob.id, "note": "献血"}).json
    deduction = admin.post("/api/v1/conduct-awards", {"indicator_id": dump["id"], "household_id": household.id, "note": "乱倒"})
    assert deduction.status_code == 201, deduction.json

    assert supervisor.post("/api/v1/flags", {"award_id": kept["id"], "reason": "核实"}).status_code == 201
    second = supervisor.post("/api/v1/flags", {"award_id": doubtful["id"], "reason": "同日重复"}).json
    again = supervisor.post("/api/v1/flags", {"award_id": doubtful["id"], "reason": "again"})
    assert again.status_code == 409 and again.json["error"]["code"] == "award_already_flagged"
    assert admin.post("/api/v1/flags", {"award_id": kept["id"], "reason": "x"}).status_code == 403
    flags = admin.get("/api/v1/flags", query_string={"status": "open"}).json
    first_id = next(f["id"] for f in flags if f["award_id"] == kept["id"])
    assert supervisor.post(f"/api/v1/flags/{first_id}/resolve", {"decision": "keep", "note": "x"}).status_code == 403
    resolved = admin.post(f"/api/v1/flags/{first_id}/resolve", {"decision": "keep", "note": "材料齐全"})
    assert resolved.status_code == 200 and resolved.json["status"] == "kept"
    reversed_ = admin.post(f"/api/v1/flags/{second['id']}/resolve", {"decision": "reverse", "note": "确系重复"}).json
    assert reversed_["status"] == "reversed" and reversed_["reversal_transaction_id"]
    twice = admin.post(f"/api/v1/flags/{second['id']}/resolve", {"decision": "keep", "note": "x"})
    assert twice.status_code == 409
    assert world.balance(alice) == 20 and world.balance(bob) == 0 and world.balance(household) == 0

    today = local_today(app.config["TIMEZONE"])
    month_end = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    month = today.strftime("%Y-%m")
    assert admin.get(f"/api/v1/disclosures/{community.id}/{month}").status_code == 404
    # The night to the 1st of next month (a month still running is never published: see below).
    monkeypatch.setattr(disclosure, "local_today", lambda _tz: month_end + dt.timedelta(days=1))
    assert jobs.publish_disclosures(month_end.isoformat())[0]["counts"]["month"] == month
    body = supervisor.get(f"/api/v1/disclosures/{community.id}/{month}").json
    rows = [(r["kind"], r["name"], r["indicator"], r["points"]) for r in body["rows"]]
    assert rows == [
        ("award", "张*丰", "无偿献血", 20),
        ("award", "李*", "无偿献血", 20),
        ("reversal", "李*", "无偿献血", -20),  # by date, then award: a reversal follows its award
        ("deduction", "王*", "乱倒垃圾", -20),
    ]
    assert {(f["status"], f["resolution_note"]) for f in body["flags"]} == {("kept", "材料齐全"), ("reversed", "确系重复")}
    assert body["totals"]["awards"] == 2 and body["totals"]["reversals"] == 1
    sheet = supervisor.get(f"/api/v1/disclosures/{community.id}/{month}.csv")
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(sheet.get_data(as_text=True).lstrip("\ufeff"))))
    assert [lines[2][2], lines[2][4], lines[2][5]] == ["张*丰", "无偿献血", "20"]
    html = supervisor.get(f"/api/v1/disclosures/{community.id}/{month}.html")
    assert html.status_code == 200 and "张*丰" in html.get_data(as_text=True) and "张三丰" not in html.get_data(as_text=True)
    assert admin.get(f"/api/v1/disclosures/{community.id}").json[0]["month"] == month
    # a month outside the documented {month} pattern is no such URL (a JSON 404, see test_document)
    assert admin.get(f"/api/v1/disclosures/{community.id}/2026-13").status_code == 404
    other = world.community()
    outsider = world.admin(other)
    assert outsider.get(f"/api/v1/disclosures/{community.id}/{month}").status_code == 404


def test_fraud_scan_flags_frequent_crediting_and_overlapping_records_once(jobs_app, world, query, app):
    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    for _ in range(8):
        response = admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 1, "reason": "奖励"})
        assert response.status_code == 201
    east, west = world.station(community), world.station(community)
    today = local_today(app.config["TIMEZONE"])
    start = dt.datetime.combine(today, dt.time(1, 0), dt.UTC)

    def records(s):
        for station, offset, hours in ((east, 0, 2), (west, 1, 2), (east, 5, 13)):
            s.add(
                ServiceRecord(
                    community_id=community.id, station_id=station.id, volunteer_id=member.id, activity_name="巡逻",
                    started_at=start + dt.timedelta(hours=offset),
                    ended_at=start + dt.timedelta(hours=offset + hours), minutes=hours * 60,
                    service_date=today, recorded_by=admin.id, status="pending",
                )
            )
        s.commit()

    query(records)
    assert jobs.scan_fraud(today.isoformat())[0]["counts"] == {"frequent_crediting": 1, "service_records": 3}
    assert jobs.scan_fraud((today + dt.timedelta(days=1)).isoformat())[0]["counts"] == {
        "frequent_crediting": 0, "service_records": 0,
    }
    alerts = admin.get("/api/v1/fraud-alerts").json
    assert sorted(a["kind"] for a in alerts) == [
        "frequent_crediting", "implausible_record", "implausible_record", "two_stations_at_once",
    ]
    assert query(lambda s: s.scalar(select(func.count()).select_from(FraudAlert))) == len(alerts)
    frequent = next(a for a in alerts if a["kind"] == "frequent_crediting")
    assert frequent["details"]["credits"] == 8 and frequent["details"]["staff_id"] == admin.id
    resident = world.resident(member)
    assert resident.get("/api/v1/fraud-alerts").status_code == 403


def test_job_runs_are_listed_for_administrators_only(jobs_app, world, yesterday):
    community = world.community()
    jobs.checkpoint_system_accounts()
    admin = world.admin(community)
    runs = admin.get("/api/v1/job-runs", query_string={"job": "system_checkpoints"}).json
    assert [(r["job"], r["business_date"], r["status"]) for r in runs] == [
        ("system_checkpoints", yesterday.isoformat(), "succeeded")
    ]
    assert world.staff("supervisor", community=community).get("/api/v1/job-runs").status_code == 403


def test_star_change_history_is_never_written_twice_for_a_date(jobs_app, world, post_hours, query, yesterday):
    member = world.member(world.community())
    post_hours(member, 100 * 60)
    jobs.apply_star_tiers(yesterday.isoformat())
    jobs.apply_star_tiers(yesterday.isoformat())
    assert query(lambda s: s.scalar(select(func.count()).select_from(StarChange))) == 1


def test_a_month_still_running_is_not_published_and_its_night_still_publishes_it(
    jobs_app, world, query, app, monkeypatch
):
    community = world.community()
    admin = world.admin(community)
    today = local_today(app.config["TIMEZONE"])
    month_end = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    month = today.strftime("%Y-%m")
    with pytest.raises(ValueError, match="not over yet"):
        jobs.publish_disclosures(month_end.isoformat())
    assert admin.get(f"/api/v1/disclosures/{community.id}/{month}").status_code == 404
    assert _runs(query, "disclosure") == [(month_end, "failed")]  # not done: the real night retries
    monkeypatch.setattr(disclosure, "local_today", lambda _tz: month_end + dt.timedelta(days=1))
    assert jobs.publish_disclosures(month_end.isoformat())[0]["done"] is True
    assert admin.get(f"/api/v1/disclosures/{community.id}/{month}").status_code == 200


def test_expiry_goes_through_the_wallets_a_chunk_at_a_time(jobs_app, world, yesterday, app, monkeypatch):
    """Wallets are locked, summed and posted in chunks: with chunks of two, five wallets (one with
    only new coins, one with old and new) each get exactly what they should."""
    monkeypatch.setattr(expiry, "CHUNK", 2)
    community = world.community(coin_expiry_month_day=yesterday.strftime("%m-%d"))
    members = [world.member(community) for _ in range(5)]
    with ledger.posting_time(local_midnight_utc(yesterday, app.config["TIMEZONE"])):
        for n, member in enumerate(members):
            if n != 2:
                world.credit(member, 10 * (n + 1))  # earned on the clearing date: expires
    world.credit(members[2], 7)  # only new coins: kept
    world.credit(members[4], 3)  # old and new: the new kept
    assert jobs.expire_coins(yesterday.isoformat())[0]["counts"] == {
        "communities": 1, "wallets": 4, "coins": 10 + 20 + 40 + 50,
    }
    assert [world.balance(m) for m in members] == [0, 0, 7, 0, 3]
    assert world.invariants() == {}


def test_star_tiers_stream_the_volunteers_while_changing_some(jobs_app, world, post_hours, reverse, yesterday,
                                                               monkeypatch):
    """The run reads volunteers a few at a time (a server-side cursor on PostgreSQL) and writes the
    changed stars meanwhile: with two rows a fetch, raises, a drop and unchanged stars interleave."""
    monkeypatch.setattr(stars, "STREAM_ROWS", 2)
    community = world.community()
    members = [world.member(community) for _ in range(7)]
    approvals = [post_hours(member, (100 + 20 * n) * 60) for n, member in enumerate(members)]  # all star 1
    assert jobs.apply_star_tiers(yesterday.isoformat())[0]["counts"] == {"volunteers": 7, "raised": 7, "lowered": 0}
    reverse(approvals[3], "重复")
    post_hours(members[5], 300 * 60)  # 500 h in all
    today = yesterday + dt.timedelta(days=1)
    assert jobs.apply_star_tiers(today.isoformat())[0]["counts"] == {"volunteers": 7, "raised": 1, "lowered": 1}
    admin = world.admin(community)
    held = [admin.get(f"/api/v1/members/{m.id}/stars").json["star"] for m in members]
    assert held == [1, 1, 1, 0, 1, 2, 1]
