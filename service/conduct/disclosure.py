"""The monthly public disclosure (积分公示) of a community, generated on the 1st for the month before.

It lists every award, deduction and reversal of the month (resident name masked like 张*三, the
indicator, the points, the date), every supervisor's flag and its resolution, and each love
supermarket's totals. It is stored when generated (what went on the notice board stays as it was)
and served as JSON, CSV and a printable HTML sheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import chain, merkle
from ledger.models import utcnow

from ..community.models import Community, Supermarket
from ..disputes.models import Dispute  # the table only: disputes' operations depend on conduct
from ..errors import Invalid, NotFound
from ..jobs.models import JobRun
from ..localtime import date_of, midnight_utc
from ..localtime import today as local_today
from ..market.documents import spreadsheet_cell
from ..market.models import Redemption, Refund
from ..members.models import Household, Member
from ..privacy import mask_name
from . import disclosure_ledger
from .models import ConductAward, Disclosure, DisputeFlag

JOB = "disclosure"
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
YEARS = range(2000, 3000)  # beyond, local midnights overflow the calendar


def parse_month(month: str) -> tuple[dt.date, dt.date]:
    """'2026-10' -> (first day, first day of the next month)."""
    match = MONTH.match(month or "")
    if not match or int(match[1]) not in YEARS:
        raise Invalid("a month is written YYYY-MM, years 2000 to 2999", code="invalid_month", month=month)
    first = dt.date(int(match[1]), int(match[2]), 1)
    return first, (first + dt.timedelta(days=32)).replace(day=1)


def _local_date(moment: dt.datetime | None, timezone: str) -> dt.date | None:
    return date_of(moment, timezone) if moment else None


def _award_rows(session: Session, community_id: int, first: dt.date, after: dt.date, timezone: str) -> list[dict]:
    start, end = midnight_utc(first, timezone), midnight_utc(after, timezone)
    awards = session.scalars(
        select(ConductAward)
        .where(
            ConductAward.community_id == community_id,
            ((ConductAward.award_date >= first) & (ConductAward.award_date < after))
            | ((ConductAward.credited_at >= start) & (ConductAward.credited_at < end))
            | ((ConductAward.reversed_at >= start) & (ConductAward.reversed_at < end)),
        )
        .order_by(ConductAward.award_date, ConductAward.id)
    ).all()
    member_ids = {a.member_id for a in awards if a.member_id}
    household_ids = {a.household_id for a in awards if a.household_id}
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))} if member_ids else {}
    households = (
        {h.id: h for h in session.scalars(select(Household).where(Household.id.in_(household_ids)))}
        if household_ids
        else {}
    )
    rows = []
    for award in awards:
        member = members.get(award.member_id)
        name = mask_name(member.name if member else households[award.household_id].name)
        base = {
            "name": name,
            "volunteer_number": member.volunteer_number if member else None,
            "indicator": award.indicator_name,
            "category": award.category,
            "award_id": award.id,
        }
        credited_on = _local_date(award.credited_at, timezone)
        kind = "award" if award.points > 0 else "deduction"
        if credited_on and first <= credited_on < after:
            # Coins actually moved (a deduction takes what the wallet held) and what it lacked.
            rows.append(
                {**base, "date": award.award_date if award.award_date >= first else credited_on, "kind": kind,
                 "points": award.points, "coins": award.amount_posted or 0, "shortfall": award.shortfall or 0,
                 "transaction_id": award.transaction_id}
            )
        elif first <= award.award_date < after:
            # In its notice period (公示期) when the month closed: announced, not credited (no coins).
            rows.append(
                {**base, "date": award.award_date, "kind": f"{kind}_announced", "points": award.points,
                 "coins": 0, "shortfall": 0, "transaction_id": None}
            )
        reversed_on = _local_date(award.reversed_at, timezone)
        if reversed_on and first <= reversed_on < after:
            rows.append(
                {**base, "date": reversed_on, "kind": "reversal", "points": -award.points,
                 "coins": -(award.amount_posted or 0), "shortfall": 0,
                 "transaction_id": award.reversal_transaction_id}
            )
    rows.sort(key=lambda r: (r["date"], r["award_id"], r["kind"] == "reversal"))
    return rows


def _supermarket_totals(session: Session, community_id: int, start: dt.datetime, end: dt.datetime) -> list[dict]:
    supermarkets = session.scalars(
        select(Supermarket).where(Supermarket.community_id == community_id).order_by(Supermarket.id)
    ).all()
    redeemed: dict[int, tuple[int, int]] = {}
    refunded: dict[int, tuple[int, int]] = {}
    for model, into in ((Redemption, redeemed), (Refund, refunded)):
        for sid, n, total in session.execute(
            select(model.supermarket_id, func.count(), func.coalesce(func.sum(model.total), 0))
            .where(model.community_id == community_id, model.created_at >= start, model.created_at < end)
            .group_by(model.supermarket_id)
        ).all():
            into[sid] = (int(n), int(total))
    totals = []
    for market_row in supermarkets:
        n_red, coins_red = redeemed.get(market_row.id, (0, 0))
        n_ref, coins_ref = refunded.get(market_row.id, (0, 0))
        totals.append(
            {
                "supermarket_id": market_row.id,
                "name": market_row.name,
                "redemptions": n_red,
                "coins_redeemed": coins_red,
                "refunds": n_ref,
                "coins_refunded": coins_ref,
                "net_coins": coins_red - coins_ref,
            }
        )
    return totals


def _flags(session: Session, community_id: int, start: dt.datetime, end: dt.datetime, timezone: str) -> list[dict]:
    flags = session.scalars(
        select(DisputeFlag)
        .where(
            DisputeFlag.community_id == community_id,
            ((DisputeFlag.flagged_at >= start) & (DisputeFlag.flagged_at < end))
            | ((DisputeFlag.resolved_at >= start) & (DisputeFlag.resolved_at < end)),
        )
        .order_by(DisputeFlag.id)
    ).all()
    return [
        {
            "flag_id": f.id,
            "award_id": f.award_id,
            "flagged_on": _local_date(f.flagged_at, timezone),
            "reason": f.reason,
            "status": f.status,
            "resolved_on": _local_date(f.resolved_at, timezone) if f.resolved_at and f.resolved_at < end else None,
            "resolution_note": f.resolution_note if f.resolved_at and f.resolved_at < end else None,
        }
        for f in flags
    ]


def _escalated_disputes(session: Session, community_id: int, end: dt.datetime, timezone: str) -> list[dict]:
    """Residents' disputes still unanswered after their deadline when the month ended (异议逾期未答复):
    the notice board lists them, with the masked name, so the supervisors and the public see them."""
    rows = session.execute(
        select(Dispute, Member.name)
        .join(Member, Member.id == Dispute.member_id)
        .where(
            Dispute.community_id == community_id,
            Dispute.escalated_at < end,
            (Dispute.resolved_at.is_(None)) | (Dispute.resolved_at >= end),
        )
        .order_by(Dispute.id)
    ).all()
    return [
        {"dispute_id": d.id, "name": mask_name(name), "kind": d.transaction_kind,
         "opened_on": _local_date(d.opened_at, timezone).isoformat(),
         "due_on": _local_date(d.answer_due_at, timezone).isoformat()}
        for d, name in rows
    ]


def build(session: Session, community: Community, month: str, timezone: str) -> dict:
    first, after = parse_month(month)
    start, end = midnight_utc(first, timezone), midnight_utc(after, timezone)
    rows = _award_rows(session, community.id, first, after, timezone)
    supermarkets = _supermarket_totals(session, community.id, start, end)
    sections = disclosure_ledger.build_sections(session, community.id, start, end, timezone)
    credited = [r for r in rows if r["kind"] in ("award", "deduction")]
    totals = {
        "awards": sum(1 for r in credited if r["points"] > 0),
        "award_points": sum(r["points"] for r in credited if r["points"] > 0),
        "deductions": sum(1 for r in credited if r["points"] < 0),
        "deduction_points": sum(r["points"] for r in credited if r["points"] < 0),
        "deduction_coins_taken": -sum(r["coins"] for r in credited if r["points"] < 0),
        "deduction_shortfall": sum(r["shortfall"] for r in credited),
        "announced": sum(1 for r in rows if r["kind"].endswith("_announced")),
        "reversals": sum(1 for r in rows if r["kind"] == "reversal"),
        "coins_redeemed": sum(s["coins_redeemed"] for s in supermarkets),
        "coins_refunded": sum(s["coins_refunded"] for s in supermarkets),
        "volunteers": len(sections["volunteer_hours"]),
        "volunteer_minutes": sum(v["minutes"] for v in sections["volunteer_hours"]),
        "volunteer_coins": sum(v["coins"] for v in sections["volunteer_hours"]),
        "coins_expired": -sum(x["coins"] for x in sections["expiry"]),
    }

    def by_unit(items, unit_of=lambda r: r["unit"], amount_of=lambda r: r["amount"]) -> dict:
        out = {"COIN": 0, "HOUR": 0}
        for item in items:
            out[unit_of(item)] += amount_of(item)
        return out

    # What each section shows, from its own rows (awards and baskets from their own tables), to be
    # compared with the ledger's sums for the section's kinds.
    shown = {
        "volunteer_hours": {"COIN": totals["volunteer_coins"], "HOUR": totals["volunteer_minutes"]},
        "conduct": {"COIN": sum(r["coins"] for r in credited), "HOUR": 0},
        "reversals": by_unit(sections["reversals"]),
        "adjustments": by_unit(sections["adjustments"]),
        "expiry": {"COIN": -totals["coins_expired"], "HOUR": 0},
        "time_bank": {"COIN": 0, "HOUR": sum(t["minutes"] for t in sections["time_bank"])},
        "supermarkets": {"COIN": totals["coins_refunded"] - totals["coins_redeemed"], "HOUR": 0},
        "other": by_unit(sections["other"]),
    }
    head = chain.head(session)
    return {
        "community_id": community.id,
        "community_name": community.name,
        "month": month,
        "rows": [{**r, "date": r["date"].isoformat()} for r in rows],
        "volunteer_hours": sections["volunteer_hours"],
        "reversals": sections["reversals"],
        "adjustments": sections["adjustments"],
        "expiry": sections["expiry"],
        "time_bank": sections["time_bank"],
        "other": sections["other"],
        "supermarkets": supermarkets,
        "issuance": disclosure_ledger.issuance(session, community.id, first, after, start, end),
        "flags": [
            {**f, "flagged_on": f["flagged_on"].isoformat(),
             "resolved_on": f["resolved_on"].isoformat() if f["resolved_on"] else None}
            for f in _flags(session, community.id, start, end, timezone)
        ],
        "totals": totals,
        "ledger_sums": sections["ledger_sums"],
        "tie_out": disclosure_ledger.tie_out(sections["ledger_sums"], shown),
        "notice": notice_period(community, after),
        "objection_contact": community.objection_contact,
        "chain_head": {"seq": head.seq, "hash": head.chain_hash},
        # the Merkle head residents verify their statements against (docs/statement-proofs.md)
        "statement_head": _statement_head(session),
        "escalated_disputes": _escalated_disputes(session, community.id, end, timezone),
    }


def _statement_head(session: Session) -> dict | None:
    block = merkle.latest_block(session)
    return {"block": block.number, "hash": block.block_hash} if block else None


# The notice board shows the sheet at least this many days (公示期), longer when the community's
# award notice period is longer.
MIN_NOTICE_DAYS = 7


def notice_period(community: Community, published_on: dt.date) -> dict:
    days = max(MIN_NOTICE_DAYS, community.notice_period_days or 0)
    return {"from": published_on.isoformat(), "to": (published_on + dt.timedelta(days=days - 1)).isoformat(),
            "days": days}


def publish(session: Session, community: Community, month: str, timezone: str, run: JobRun | None) -> Disclosure:
    """Store the month's disclosure once; an existing one is returned unchanged."""
    existing = session.scalars(
        select(Disclosure).where(Disclosure.community_id == community.id, Disclosure.month == month)
    ).first()
    if existing is not None:
        return existing
    disclosure = Disclosure(
        community_id=community.id,
        month=month,
        generated_at=utcnow(),
        job_run_id=run.id if run else None,
        body=build(session, community, month, timezone),
    )
    session.add(disclosure)
    session.flush()
    return disclosure


def publish_for_date(session: Session, business_date: dt.date, timezone: str, run: JobRun | None) -> dict:
    """On the last day of a month (processed in the night to the 1st), publish that month everywhere."""
    if (business_date + dt.timedelta(days=1)).day != 1:
        return {"communities": 0}
    month = business_date.strftime("%Y-%m")
    if business_date >= local_today(timezone):
        # Stored disclosures never change: publishing a month still running would freeze it incomplete.
        raise ValueError(f"{month} is not over yet; its disclosure is published in the night to the 1st")
    communities = session.scalars(select(Community).order_by(Community.id)).all()
    for community in communities:
        publish(session, community, month, timezone, run)
    return {"communities": len(communities), "month": month}


def get(session: Session, community_id: int, month: str) -> dict:
    parse_month(month)
    disclosure = session.scalars(
        select(Disclosure).where(Disclosure.community_id == community_id, Disclosure.month == month)
    ).first()
    if disclosure is None:
        raise NotFound("this month's disclosure is not published yet", code="disclosure_not_published")
    return {**disclosure.body, "generated_at": disclosure.generated_at}


def months(session: Session, community_id: int) -> list[Disclosure]:
    return session.scalars(
        select(Disclosure).where(Disclosure.community_id == community_id).order_by(Disclosure.month.desc())
    ).all()


KIND_LABELS = {
    "award": "加分 award",
    "deduction": "扣分 deduction",
    "award_announced": "加分公示中 announced",
    "deduction_announced": "扣分公示中 announced",
    "reversal": "撤销 reversal",
}


def as_csv(body: dict) -> str:
    """UTF-8 with a byte-order mark, so spreadsheet programs show the Chinese correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)

    def write(row: list) -> None:
        writer.writerow([spreadsheet_cell(value) for value in row])

    write([f"{body['community_name']} {body['month']} 积分公示 disclosure"])
    write(["日期 date", "类别 kind", "姓名 name", "志愿者编号 volunteer no.", "指标 indicator", "分值 points"])
    for row in body["rows"]:
        write(
            [row["date"], KIND_LABELS.get(row["kind"], row["kind"]), row["name"], row["volunteer_number"] or "",
             row["indicator"], row["points"]]
        )
    write([])
    write(["爱心超市 supermarket", "兑换笔数 redemptions", "兑换绿币 coins", "退货笔数 refunds", "退回绿币 coins refunded", "净额 net"])
    for s in body["supermarkets"]:
        write([s["name"], s["redemptions"], s["coins_redeemed"], s["refunds"], s["coins_refunded"], s["net_coins"]])
    sections = (
        ("志愿服务 volunteer hours", ["姓名 name", "志愿者编号 volunteer no.", "记录 records", "分钟 minutes", "绿币 coins"],
         "volunteer_hours", ("name", "volunteer_number", "records", "minutes", "coins")),
        ("撤销 reversals", ["日期 date", "姓名 name", "撤销内容 reversed", "单位 unit", "数额 amount", "理由 reason"],
         "reversals", ("date", "name", "reverses", "unit", "amount", "reason")),
        ("调整 adjustments", ["日期 date", "类别 kind", "姓名 name", "单位 unit", "数额 amount", "理由 reason"],
         "adjustments", ("date", "kind", "name", "unit", "amount", "reason")),
        ("清零 expiry", ["日期 date", "姓名 name", "绿币 coins"], "expiry", ("date", "name", "coins")),
        ("时间银行 time bank", ["日期 date", "类别 kind", "姓名 name", "分钟 minutes"], "time_bank",
         ("date", "kind", "name", "minutes")),
    )
    for title, header, key, columns in sections:
        if not body.get(key):
            continue
        write([])
        write([title])
        write(header)
        for item in body[key]:
            values = [item.get(c) for c in columns]
            write(["{kind} #{transaction_id} {date}".format(**v) if isinstance(v, dict) else ("" if v is None else v)
                   for v in values])
    if body.get("notice"):
        write([])
        write(["公示期 notice period", body["notice"]["from"], body["notice"]["to"]])
        write(["异议联系 objections", body.get("objection_contact") or ""])
        write(["链头 chain head", body["chain_head"]["seq"], body["chain_head"]["hash"]])
    write([])
    write(["异议 flag", "奖励 award", "提出日期 flagged", "理由 reason", "结果 status", "处理日期 resolved", "说明 note"])
    for f in body["flags"]:
        write([f["flag_id"], f["award_id"], f["flagged_on"], f["reason"], f["status"], f["resolved_on"] or "", f["resolution_note"] or ""])
    return out.getvalue()


from .disclosure_sheet import as_html  # noqa: E402,F401  (the printable sheet lives beside)
