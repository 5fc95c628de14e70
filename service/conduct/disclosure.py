"""The monthly public disclosure (积分公示) of a community, generated on the 1st for the month before.

It lists every award, deduction and reversal of the month (resident name masked like 张*三, the
indicator, the points, the date), every supervisor's flag and its resolution, and each love
supermarket's totals. It is stored when generated (what went on the notice board stays as it was)
and served as JSON, CSV and a printable HTML sheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import re
from zoneinfo import ZoneInfo

from flask import render_template_string
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..community.models import Community, Supermarket
from ..errors import Invalid, NotFound
from ..jobs.models import JobRun
from ..jobs.runs import local_midnight_utc, local_today
from ..market.documents import spreadsheet_cell
from ..members.models import Household, Member
from ..privacy import mask_name
from .models import Disclosure, DisputeFlag

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


def _has(session: Session, table: str) -> bool:
    return inspect(session.connection()).has_table(table)


def _local_date(moment: dt.datetime | None, timezone: str) -> dt.date | None:
    return moment.astimezone(ZoneInfo(timezone)).date() if moment else None


def _award_rows(session: Session, community_id: int, first: dt.date, after: dt.date, timezone: str) -> list[dict]:
    if not _has(session, "conduct_awards"):
        return []
    ConductAward = importlib.import_module("service.conduct.models").ConductAward  # noqa: N806
    start, end = local_midnight_utc(first, timezone), local_midnight_utc(after, timezone)
    awards = session.scalars(
        select(ConductAward)
        .where(
            ConductAward.community_id == community_id,
            ((ConductAward.award_date >= first) & (ConductAward.award_date < after))
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
        if first <= award.award_date < after:
            kind = "award" if award.points > 0 else "deduction"
            if award.status in ("announced", "disputed"):
                kind = f"{kind}_announced"  # in its notice period (公示期), not yet credited
            rows.append(
                {**base, "date": award.award_date, "kind": kind, "points": award.points,
                 "transaction_id": award.transaction_id}
            )
        reversed_on = _local_date(award.reversed_at, timezone)
        if reversed_on and first <= reversed_on < after:
            rows.append(
                {**base, "date": reversed_on, "kind": "reversal", "points": -award.points,
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
    if _has(session, "redemptions"):
        market = importlib.import_module("service.market.models")
        for model, into in ((market.Redemption, redeemed), (market.Refund, refunded)):
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


def build(session: Session, community: Community, month: str, timezone: str) -> dict:
    first, after = parse_month(month)
    start, end = local_midnight_utc(first, timezone), local_midnight_utc(after, timezone)
    rows = _award_rows(session, community.id, first, after, timezone)
    supermarkets = _supermarket_totals(session, community.id, start, end)
    credited = [r for r in rows if r["kind"] in ("award", "deduction")]
    totals = {
        "awards": sum(1 for r in credited if r["points"] > 0),
        "award_points": sum(r["points"] for r in credited if r["points"] > 0),
        "deductions": sum(1 for r in credited if r["points"] < 0),
        "deduction_points": sum(r["points"] for r in credited if r["points"] < 0),
        "announced": sum(1 for r in rows if r["kind"].endswith("_announced")),
        "reversals": sum(1 for r in rows if r["kind"] == "reversal"),
        "coins_redeemed": sum(s["coins_redeemed"] for s in supermarkets),
        "coins_refunded": sum(s["coins_refunded"] for s in supermarkets),
    }
    return {
        "community_id": community.id,
        "community_name": community.name,
        "month": month,
        "rows": [{**r, "date": r["date"].isoformat()} for r in rows],
        "supermarkets": supermarkets,
        "flags": [
            {**f, "flagged_on": f["flagged_on"].isoformat(),
             "resolved_on": f["resolved_on"].isoformat() if f["resolved_on"] else None}
            for f in _flags(session, community.id, start, end, timezone)
        ],
        "totals": totals,
    }


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
    write([])
    write(["异议 flag", "奖励 award", "提出日期 flagged", "理由 reason", "结果 status", "处理日期 resolved", "说明 note"])
    for f in body["flags"]:
        write([f["flag_id"], f["award_id"], f["flagged_on"], f["reason"], f["status"], f["resolved_on"] or "", f["resolution_note"] or ""])
    return out.getvalue()


SHEET = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ b.community_name }} {{ b.month }} 积分公示</title>
<style>
body{font-family:"Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:1.5cm;color:#111}
h1{font-size:20pt;text-align:center;margin-bottom:.2em}h2{font-size:13pt;margin-top:1.2em}
p.sub{text-align:center;color:#444;margin-top:0}
table{border-collapse:collapse;width:100%;font-size:10.5pt}th,td{border:1px solid #666;padding:3px 6px}
th{background:#eee}td.n{text-align:right}
@media print{body{margin:1cm}h2{page-break-after:avoid}tr{page-break-inside:avoid}}
</style></head><body>
<h1>{{ b.community_name }} 积分公示</h1>
<p class="sub">{{ b.month }} · Monthly disclosure · 生成 generated {{ generated }}</p>
<h2>加分、扣分与撤销 Awards, deductions and reversals</h2>
<table><tr><th>日期</th><th>类别</th><th>姓名</th><th>志愿者编号</th><th>指标</th><th>分值</th></tr>
{% for r in b.rows %}<tr><td>{{ r.date }}</td><td>{{ labels.get(r.kind, r.kind) }}</td><td>{{ r.name }}</td>
<td>{{ r.volunteer_number or "" }}</td><td>{{ r.indicator }}</td><td class="n">{{ r.points }}</td></tr>
{% else %}<tr><td colspan="6">本月无记录 Nothing this month</td></tr>{% endfor %}</table>
<p>加分 {{ b.totals.awards }} 笔 {{ b.totals.award_points }} 分 · 扣分 {{ b.totals.deductions }} 笔
{{ b.totals.deduction_points }} 分 · 撤销 {{ b.totals.reversals }} 笔</p>
<h2>爱心超市 Love supermarkets</h2>
<table><tr><th>超市</th><th>兑换笔数</th><th>兑换绿币</th><th>退货笔数</th><th>退回绿币</th><th>净额</th></tr>
{% for s in b.supermarkets %}<tr><td>{{ s.name }}</td><td class="n">{{ s.redemptions }}</td><td class="n">{{ s.coins_redeemed }}</td>
<td class="n">{{ s.refunds }}</td><td class="n">{{ s.coins_refunded }}</td><td class="n">{{ s.net_coins }}</td></tr>{% endfor %}</table>
{% if b.flags %}<h2>监督异议 Supervisors' flags</h2>
<table><tr><th>编号</th><th>奖励</th><th>提出日期</th><th>理由</th><th>结果</th><th>处理日期</th><th>说明</th></tr>
{% for f in b.flags %}<tr><td>{{ f.flag_id }}</td><td>{{ f.award_id }}</td><td>{{ f.flagged_on }}</td><td>{{ f.reason }}</td>
<td>{{ f.status }}</td><td>{{ f.resolved_on or "" }}</td><td>{{ f.resolution_note or "" }}</td></tr>{% endfor %}</table>{% endif %}
<p class="sub">如有异议，请向村务监督委员会反映。 Questions: ask the village supervision committee.</p>
</body></html>"""


def as_html(body: dict, generated_at: dt.datetime, timezone: str) -> str:
    generated = generated_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
    return render_template_string(SHEET, b=body, labels=KIND_LABELS, generated=generated)
