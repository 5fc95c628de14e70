"""Bulk import from a scheme's old spreadsheet: residents and their opening balances.

Each row is its own savepoint with its own result (``created`` / ``exists`` / ``error``), so a bad
row never blocks the others, and an import can be run again: rows already imported report
``exists`` and post nothing twice (residents by community + name + phone; balances by a ledger
idempotency key per volunteer).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import Unit

from ..community.models import Community
from ..community.operations import issuance_account
from ..errors import DomainError, Invalid, NotFound
from ..members.models import Household, Member
from ..members.operations import member_wallet, register_household, register_member
from ..members.schemas import PHONE

PHONE_PATTERN = re.compile(PHONE.regex.pattern)  # the API's rule for a phone number
MAX_AMOUNT = 10_000_000  # per wallet: far above any real balance, catches a shifted column


BATCH_ROWS = 500


def iter_csv(handle) -> Iterator[dict]:
    """Rows of a UTF-8 CSV read from a text handle, headers lower-cased, empty cells dropped."""
    for line in csv.DictReader(handle):
        yield {k.strip().lower(): v.strip() for k, v in line.items() if k and v is not None and v.strip()}


def read_csv(text: str) -> list[dict]:
    """Rows of a UTF-8 CSV (a BOM from Excel is fine), headers lower-cased, empty cells dropped."""
    return list(iter_csv(io.StringIO(text.lstrip("\ufeff"))))


def _community(session: Session, code: str | None, cache: dict) -> Community:
    if not code:
        raise Invalid("community_code is required", code="community_required")
    if code not in cache:
        community = session.scalars(select(Community).where(Community.code == code)).first()
        if community is None:
            raise NotFound(f"no community with code {code}", code="unknown_community")
        cache[code] = community
    return cache[code]


def _integer(row: dict, column: str, *, minimum: int = 0) -> int:
    raw = row.get(column, "0")
    if not raw.lstrip("-").isdigit():
        raise Invalid(f"{column} must be a whole number", code="not_an_integer", column=column, value=raw)
    value = int(raw)
    if not minimum <= value <= MAX_AMOUNT:
        raise Invalid(f"{column} must be between {minimum} and {MAX_AMOUNT}", code="out_of_range", column=column)
    return value


def _each_row(session: Session, rows: Iterable[dict], handle) -> Iterator[dict]:
    """Run ``handle(row)`` per row in a savepoint; yield ``{"row", "status", ...}``."""
    for number, row in enumerate(rows, start=1):
        try:
            with session.begin_nested():
                status, extra = handle(row)
            yield {"row": number, "status": status, **extra}
        except (DomainError, ledger.LedgerError) as exc:
            yield {"row": number, "status": "error", "code": exc.code, "message": exc.message}


def import_residents(session: Session, rows: Iterable[dict]) -> Iterator[dict]:
    """Columns: community_code, name, phone, national_id, household, birth_date (YYYY-MM-DD).
    Residents of one ``household`` name in a community share a household."""
    communities: dict = {}

    def handle(row: dict):
        community = _community(session, row.get("community_code"), communities)
        name = row.get("name")
        if not name or len(name) > 100:
            raise Invalid("name is required (at most 100 characters)", code="name_required")
        phone = row.get("phone")
        if phone and not PHONE_PATTERN.match(phone):
            raise Invalid("phone must be 5 to 15 digits", code="invalid_phone")
        existing = session.scalars(
            select(Member).where(Member.community_id == community.id, Member.name == name, Member.phone == phone)
        ).first()
        if existing is not None:
            return "exists", {"member_id": existing.id, "volunteer_number": existing.volunteer_number}
        household_id = None
        if row.get("household"):
            household = session.scalars(
                select(Household).where(Household.community_id == community.id, Household.name == row["household"])
            ).first() or register_household(session, community_id=community.id, name=row["household"])
            household_id = household.id
        try:
            born = dt.date.fromisoformat(row["birth_date"]) if row.get("birth_date") else None
        except ValueError:
            raise Invalid("birth_date must be YYYY-MM-DD", code="invalid_birth_date") from None
        member = register_member(
            session, community_id=community.id, name=name, phone=phone, national_id=row.get("national_id"),
            household_id=household_id, birth_date=born,
        )
        return "created", {"member_id": member.id, "volunteer_number": member.volunteer_number}

    return _each_row(session, rows, handle)


def import_opening_balances(session: Session, rows: Iterable[dict], *, actor_id: int | None = None) -> Iterator[dict]:
    """Columns: community_code, volunteer_number, coins, hours_minutes, lifetime_hours_minutes, note.

    Coins and banked minutes arrive as ``opening_balance`` postings from community issuance.
    Lifetime volunteer minutes (for stars) arrive as ``opening_lifetime_hours``; banked minutes
    below the lifetime (hours already spent in the old scheme) are then taken back as
    ``opening_hours_spent``, which lowers the time bank but not lifetime hours.
    """
    communities: dict = {}

    def handle(row: dict):
        community = _community(session, row.get("community_code"), communities)
        number = row.get("volunteer_number")
        member = session.scalars(
            select(Member).where(Member.community_id == community.id, Member.volunteer_number == number)
        ).first()
        if member is None:
            raise NotFound(f"no volunteer {number} in {community.code}", code="unknown_volunteer")
        coins = _integer(row, "coins")
        banked = _integer(row, "hours_minutes")
        lifetime = _integer(row, "lifetime_hours_minutes")
        note = row.get("note", "opening balance from the old ledger")
        wallets = {unit: member_wallet(session, member, unit).id for unit in Unit}
        sources = {unit: issuance_account(session, community.id, unit).id for unit in Unit}
        key = f"import:opening:{community.id}:{member.id}"
        postings = []
        if coins:
            postings.append(("opening_balance", "coins", Unit.COIN, coins))
        if lifetime:
            postings.append(("opening_lifetime_hours", "lifetime", Unit.HOUR, lifetime))
        if banked != lifetime:
            kind = "opening_balance" if banked > lifetime else "opening_hours_spent"
            postings.append((kind, "hours", Unit.HOUR, banked - lifetime))
        replayed = []
        for kind, part, unit, amount in postings:
            posted = ledger.post(
                session,
                lines=[ledger.Line(wallets[unit], amount), ledger.Line(sources[unit], -amount)],
                idempotency_key=f"{key}:{part}",
                kind=kind,
                community_id=community.id,
                memo=note,
                actor_id=actor_id,
                details={"description": note, "source": "import"},
            )
            replayed.append(posted.replayed)
        status = "exists" if replayed and all(replayed) else "created" if postings else "empty"
        return status, {"member_id": member.id, "postings": len(postings)}

    return _each_row(session, rows, handle)
