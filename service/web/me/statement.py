"""The statement in the reader's words: each ledger line is rendered from its structured details (never
from the stored memo, which is a bilingual note for auditors), dated by when the service happened (the
posting date as a second line), coins and hours on separate tabs, each with its own running balance
and unit, and a month filter."""

from __future__ import annotations

import datetime as dt
import re

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

import ledger

from ... import localtime
from ...auth.access import access
from ...auth.models import Role
from ...community.models import Supermarket
from ...conduct.models import ConductAward
from ...disputes.operations import policy_for
from ...extensions import db
from ...members.models import Member
from ...members.operations import get_household, get_member, household_wallet, member_wallet
from ...privacy import mask_name
from ..award_words import AwardPeople, nothing_taken, taken_words
from ..core import bp, principal

TITLES = {
    "volunteer_hours": _l("Volunteer service"),
    "conduct_award": _l("Good conduct award"),
    "conduct_deduction": _l("Good conduct deduction"),
    "service_redemption": _l("Time bank service"),
    "hour_transfer": _l("Hours given to family"),
    "redemption": _l("Love supermarket"),
    "redemption_refund": _l("Refund at the love supermarket"),
    "coin_expiry": _l("Annual coin clearing"),
    "adjustment": _l("Correction by the office"),
    "opening_balance": _l("Opening balance"),
    "reservation_hold": _l("Coins held for a reservation"),
    "reservation_release": _l("Coins back from a reservation"),
}

RELATIONS = {
    "parent": _l("parent"), "child": _l("child"), "spouse": _l("spouse"), "grandparent": _l("grandparent"),
    "grandchild": _l("grandchild"), "sibling": _l("brother or sister"), "parent_in_law": _l("parent-in-law"),
    "child_in_law": _l("son- or daughter-in-law"), "household": _l("household member"),
}

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
UNITS = ("COIN", "HOUR")


def _goods(lines: list[dict] | None) -> str:
    return "、".join(f"{ln.get('name', '')}×{ln.get('quantity', '')}" for ln in lines or [])


def statement_rows(session, lines: list[ledger.StatementLine], reader: Member | None = None, *,
                   readers: list[Member | None] | None = None) -> list[dict]:
    """What each line says, in the reader's language, from the line's structured details; ``readers``
    (one per line) when the lines are different residents' (the desk's disputes), read all at once."""
    award_ids = {ln.details.get("award_id") for ln in lines if ln.details.get("award_id")}
    awards = {a.id: a for a in session.scalars(select(ConductAward).where(ConductAward.id.in_(award_ids)))} if award_ids else {}
    people = AwardPeople.of(session, awards.values())
    member_ids = {
        ln.details.get(k) for ln in lines for k in ("from_member_id", "to_member_id", "acted_by_member_id")
        if ln.details.get(k)
    }
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))} if member_ids else {}
    shop_ids = {ln.details.get("supermarket_id") for ln in lines if ln.details.get("supermarket_id")}
    shops = dict(session.execute(select(Supermarket.id, Supermarket.name).where(Supermarket.id.in_(shop_ids))).all()) if shop_ids else {}
    zone = localtime.zone()
    rows = []
    for line, line_reader in zip(lines, readers if readers is not None else [reader] * len(lines), strict=True):
        kind, reversal = line.kind, False
        if kind.endswith(".reversal"):
            kind, reversal = kind[: -len(".reversal")], True
        d = line.details or {}
        title = str(TITLES.get(kind, _l("Other")))
        detail = ""
        if kind == "volunteer_hours":
            detail = d.get("description", "")  # the activity and the station, by their names
        elif kind in ("conduct_award", "conduct_deduction"):
            award = awards.get(d.get("award_id"))
            detail = award_detail(award, people, line_reader) if award else ""
        elif kind == "service_redemption":
            detail = d.get("description", "")
        elif kind == "hour_transfer":
            giver, receiver = members.get(d.get("from_member_id")), members.get(d.get("to_member_id"))
            relation = str(RELATIONS.get(d.get("relation", ""), ""))
            if line_reader is not None and receiver is not None and receiver.id == line_reader.id:
                title = _("Hours received from family")
                detail = f"{mask_name(giver.name) if giver else ''}"
            else:
                detail = f"{relation} {mask_name(receiver.name) if receiver else ''}".strip()
        elif kind in ("redemption", "redemption_refund"):
            detail = " · ".join(x for x in (shops.get(d.get("supermarket_id"), ""), _goods(d.get("lines"))) if x)
        elif kind == "coin_expiry":
            detail = _("Coins not spent by the end of the year")
        elif kind == "adjustment":
            detail = d.get("reason", "")
        helper = members.get(d.get("acted_by_member_id"))
        if helper is not None:  # a helper (代办) acted for the resident: the statement says who
            detail = " · ".join(x for x in (detail, _("done by %(name)s for you", name=mask_name(helper.name))) if x)
        if reversal:
            title = _("Cancelled: %(what)s", what=title)
            detail = d.get("reason") or detail
        posted = line.created_at.astimezone(zone)
        served = d.get("service_date")
        try:
            day = dt.date.fromisoformat(served) if served else posted.date()
        except ValueError:
            day = posted.date()
        rows.append({
            "transaction_id": line.transaction_id, "unit": line.unit, "amount": line.amount,
            "balance_after": line.balance_after, "title": title, "detail": detail, "day": day, "posted": posted,
            "posted_later": posted.date() != day, "location": None, "reversal": reversal,
            "created_at": line.created_at,
        })
    return rows


def award_detail(award: ConductAward, people: AwardPeople, reader: Member | None) -> str:
    """The indicator; for a household's award the household (and who earned it); for a deduction what
    was taken and the shortfall."""
    parts = [award.indicator_name]
    if award.household_id is not None:
        parts.append(people.award_for(award, reader_id=reader.id if reader else None, masked=True))
    parts.append(taken_words(award) if award.shortfall else "")
    return " · ".join(p for p in parts if p)


def month_lines(session, account_id: int, month: str | None, *, limit: int, before: int | None):
    """One page of an account's statement, or every line posted in one local month."""
    if not month:
        page = ledger.statement(session, account_id, limit=limit, before=before)
        return page.lines, page.next_cursor
    zone = localtime.zone()
    year, number = int(month[:4]), int(month[5:])
    start = dt.datetime(year, number, 1, tzinfo=zone)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    found, cursor = [], None
    for _page in range(50):  # at most 5,000 lines back: a resident's years, not a shop's
        page = ledger.statement(session, account_id, limit=100, before=cursor)
        for line in page.lines:
            if line.created_at < end and line.created_at >= start:
                found.append(line)
        if page.next_cursor is None or (page.lines and page.lines[-1].created_at < start):
            break
        cursor = page.next_cursor
    return found, None


def recent_months(today: dt.date, count: int = 12) -> list[str]:
    index = today.year * 12 + today.month - 1
    return [f"{(index - k) // 12:04d}-{(index - k) % 12 + 1:02d}" for k in range(count)]


@bp.get("/me/statement")
@access(Role.RESIDENT)
def resident_statement():
    member = get_member(db.session, principal().member_id)
    tabs = UNITS + (("HOUSEHOLD",) if member.household_id else ())
    unit = request.args.get("unit") if request.args.get("unit") in tabs else "COIN"
    month = request.args.get("month", "")
    month = month if MONTH.match(month) else ""
    if unit == "HOUSEHOLD":  # the household's coins: its awards and deductions, and baskets paid from it
        household = get_household(db.session, member.household_id)
        wallet = household_wallet(db.session, household)
    else:
        household = None
        wallet = member_wallet(db.session, member, ledger.Unit(unit))
    lines, next_cursor = month_lines(db.session, wallet.id, month, limit=30, before=request.args.get("before", type=int))
    # Lines of the resident's own wallets still inside the dispute window get a "dispute this line" link.
    window = dt.timedelta(days=policy_for(db.session, member.community_id).window_days)
    dispute_since = None if household else ledger.utcnow() - window
    return render_template(
        "resident/statement.html",
        member=member,
        rows=statement_rows(db.session, lines, member),
        next_cursor=next_cursor,
        unit=unit,
        household=household,
        has_household=bool(member.household_id),
        dispute_since=dispute_since,
        nothing_taken=[] if unit == "HOUR" else nothing_taken(
            db.session, member_id=member.id, household_id=household.id if household else None, month=month),
        taken_words=taken_words,
        month=month,
        months=recent_months(dt.datetime.now(localtime.zone()).date()),
    )
