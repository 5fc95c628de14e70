"""The parts of the monthly disclosure (积分公示) read from the ledger itself, so that every coin and
minute that entered or left residents' wallets in the month is accounted for.

Every entry of the month on a member or household wallet of the community belongs to exactly one
section by its transaction kind: volunteer hours (per volunteer), good conduct (the award rows),
reversals (with what they reversed), adjustments and opening balances (with the reason), expiry,
time-bank spending and hour gifts, and the supermarkets. ``tie_out`` compares each section's total
with the ledger's sum for its kinds, and anything of a kind no section claims is listed under
``other`` — so the sheet on the notice board always adds up to the book.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ledger import AccountType, Unit
from ledger.models import Account, Entry, Transaction

from ..localtime import date_of
from ..members.models import Household, Member
from ..privacy import mask_name
from .budgets import budget_used
from .models import IssuanceBudget

WALLETS = (AccountType.MEMBER_WALLET.value, AccountType.HOUSEHOLD_WALLET.value)
CONDUCT_KINDS = ("conduct_award", "conduct_deduction")
ADJUSTMENT_KINDS = ("adjustment", "opening_balance", "opening_lifetime_hours", "opening_hours_spent")
SUPERMARKET_KINDS = ("redemption", "redemption_refund")
TIME_BANK_KINDS = ("service_redemption", "hour_transfer")
SECTION_OF = {
    "volunteer_hours": "volunteer_hours",
    **{k: "conduct" for k in CONDUCT_KINDS},
    **{k: "adjustments" for k in ADJUSTMENT_KINDS},
    "coin_expiry": "expiry",
    **{k: "time_bank" for k in TIME_BANK_KINDS},
    **{k: "supermarkets" for k in SUPERMARKET_KINDS},
}


def section_of(kind: str) -> str:
    """The section an entry belongs to. A basket refunded whole is a reversal of the basket, and the
    supermarket's totals count it as a refund, so it is the supermarkets' (not the reversals')."""
    if kind == "redemption.reversal":
        return "supermarkets"
    return "reversals" if kind.endswith(".reversal") else SECTION_OF.get(kind, "other")


def wallet_entries(session: Session, community_id: int, start: dt.datetime, end: dt.datetime) -> list:
    """Every entry of the month on a resident's or household's wallet, oldest first."""
    return session.execute(
        select(
            Entry.transaction_id, Entry.unit, Entry.amount, Account.type, Account.owner_id,
            Transaction.kind, Transaction.created_at, Transaction.memo, Transaction.reverses_id, Transaction.details,
        )
        .join(Account, Account.id == Entry.account_id)
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .where(
            Transaction.community_id == community_id,
            Transaction.created_at >= start,
            Transaction.created_at < end,
            Account.type.in_(WALLETS),
        )
        .order_by(Entry.id)
    ).all()


def ledger_sums(entries) -> dict[str, dict[str, int]]:
    """The ledger's own per-kind sums over the month: ``{kind: {"COIN": n, "HOUR": minutes}}``."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: {Unit.COIN.value: 0, Unit.HOUR.value: 0})
    for e in entries:
        sums[e.kind][e.unit] += e.amount
    return {k: dict(v) for k, v in sorted(sums.items())}


class _Names:
    """Masked names (张*三) and volunteer numbers of the wallets' owners, loaded in two queries."""

    def __init__(self, session: Session, entries):
        member_ids = {e.owner_id for e in entries if e.type == AccountType.MEMBER_WALLET.value}
        household_ids = {e.owner_id for e in entries if e.type == AccountType.HOUSEHOLD_WALLET.value}
        self.members = {
            m: (n, v) for m, n, v in session.execute(
                select(Member.id, Member.name, Member.volunteer_number).where(Member.id.in_(member_ids))
            ).all()
        } if member_ids else {}
        self.households = dict(session.execute(
            select(Household.id, Household.name).where(Household.id.in_(household_ids))
        ).all()) if household_ids else {}

    def of(self, account_type: str, owner_id: int) -> tuple[str, str | None]:
        if account_type == AccountType.MEMBER_WALLET.value:
            name, number = self.members.get(owner_id, ("", None))
            return mask_name(name), number
        return mask_name(self.households.get(owner_id, "")), None


def _local(moment: dt.datetime, timezone: str) -> str:
    return date_of(moment, timezone).isoformat()


def build_sections(session: Session, community_id: int, start: dt.datetime, end: dt.datetime, timezone: str) -> dict:
    entries = wallet_entries(session, community_id, start, end)
    names = _Names(session, entries)

    volunteers: dict[int, dict] = {}
    reversals, adjustments, expiry, time_bank, other = [], [], [], [], []
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id}
    originals = {}
    if reversed_ids:
        original = aliased(Transaction)
        originals = {
            row.id: row for row in session.execute(
                select(original.id, original.kind, original.created_at, original.memo).where(original.id.in_(reversed_ids))
            ).all()
        }
    for e in entries:
        name, number = names.of(e.type, e.owner_id)
        section = section_of(e.kind)
        if section == "volunteer_hours":
            row = volunteers.setdefault(e.owner_id, {"name": name, "volunteer_number": number, "records": set(),
                                                     "minutes": 0, "coins": 0})
            row["records"].add(e.transaction_id)
            row["minutes" if e.unit == Unit.HOUR.value else "coins"] += e.amount
        elif section == "reversals":
            what = originals.get(e.reverses_id)
            reversals.append({
                "date": _local(e.created_at, timezone), "name": name, "volunteer_number": number, "unit": e.unit,
                "amount": e.amount, "reason": e.memo, "transaction_id": e.transaction_id,
                "reverses": {"transaction_id": e.reverses_id, "kind": what.kind if what else None,
                             "date": _local(what.created_at, timezone) if what else None,
                             "memo": what.memo if what else None},
            })
        elif section == "adjustments":
            adjustments.append({"date": _local(e.created_at, timezone), "kind": e.kind, "name": name,
                                "volunteer_number": number, "unit": e.unit, "amount": e.amount, "reason": e.memo})
        elif section == "expiry":
            expiry.append({"date": _local(e.created_at, timezone), "name": name, "volunteer_number": number,
                           "coins": e.amount})
        elif section == "time_bank":
            time_bank.append({"date": _local(e.created_at, timezone), "kind": e.kind, "name": name,
                              "volunteer_number": number, "minutes": e.amount, "memo": e.memo,
                              "transaction_id": e.transaction_id})
        elif section == "other":
            other.append({"date": _local(e.created_at, timezone), "kind": e.kind, "name": name, "unit": e.unit,
                          "amount": e.amount, "memo": e.memo})
    hours_rows = sorted(
        ({**v, "records": len(v["records"])} for v in volunteers.values()),
        key=lambda r: (r["volunteer_number"] or "", r["name"]),
    )
    return {
        "entries": entries,
        "volunteer_hours": hours_rows,
        "reversals": reversals,
        "adjustments": adjustments,
        "expiry": expiry,
        "time_bank": time_bank,
        "other": other,
        "ledger_sums": ledger_sums(entries),
    }


def issuance(session: Session, community_id: int, first: dt.date, after: dt.date, start: dt.datetime,
             end: dt.datetime) -> dict:
    """Coins and minutes issued in the month (drawn from the community's issuance accounts, net of
    what came back to them), and the good-conduct budget whose period covers the month."""
    issued = dict(session.execute(
        select(Entry.unit, func.coalesce(func.sum(Entry.amount), 0))
        .join(Account, Account.id == Entry.account_id)
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .where(Account.type == AccountType.ISSUANCE.value, Account.community_id == community_id,
               Transaction.created_at >= start, Transaction.created_at < end)
        .group_by(Entry.unit)
    ).all())
    budgets = session.scalars(
        select(IssuanceBudget).where(IssuanceBudget.community_id == community_id,
                                     IssuanceBudget.period_start < after, IssuanceBudget.period_end >= first)
        .order_by(IssuanceBudget.period_start)
    ).all()
    return {
        "coins_issued": -int(issued.get(Unit.COIN.value, 0)),
        "minutes_issued": -int(issued.get(Unit.HOUR.value, 0)),
        "budgets": [
            {"period_start": b.period_start.isoformat(), "period_end": b.period_end.isoformat(), "coins": b.coins,
             "used": budget_used(session, b), "remaining": b.coins - budget_used(session, b)}
            for b in budgets
        ],
    }


def tie_out(ledger: dict[str, dict[str, int]], shown: dict[str, dict[str, int]]) -> dict:
    """Each section's total as shown against the ledger's sum for the kinds it covers."""
    expected: dict[str, dict[str, int]] = defaultdict(lambda: {Unit.COIN.value: 0, Unit.HOUR.value: 0})
    for kind, units in ledger.items():
        for unit, amount in units.items():
            expected[section_of(kind)][unit] += amount
    sections = sorted(set(expected) | set(shown))
    rows = []
    for section in sections:
        for unit in (Unit.COIN.value, Unit.HOUR.value):
            want = expected.get(section, {}).get(unit, 0)
            got = shown.get(section, {}).get(unit, 0)
            if want or got:
                rows.append({"section": section, "unit": unit, "ledger": want, "shown": got, "ok": want == got})
    return {"ok": all(r["ok"] for r in rows), "sections": rows}
