"""Registering residents and households, their wallets, balances and statements."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import String, bindparam, cast, func, literal, select
from sqlalchemy.orm import Session

import ledger
from ledger import Account, AccountType, Entry, Unit
from ledger.accounts import account_code

from ..auth.operations import hash_secret
from ..community.operations import get_community
from ..errors import Conflict, Invalid, NotFound
from ..privacy import mask_national_id, national_id_digest, normalise_national_id
from ..rows import first_row, get_row
from . import stars
from .cards import format_card_code, new_card_code, normalise_card_code  # noqa: F401 (re-exported)
from .models import Household, Member


def get_member(session: Session, member_id: int) -> Member:
    return get_row(session, Member, member_id, what="member")


def get_household(session: Session, household_id: int) -> Household:
    return get_row(session, Household, household_id, what="household")


def member_wallet(session: Session, member: Member, unit: Unit) -> ledger.Account:
    return ledger.open_account(
        session, type=AccountType.MEMBER_WALLET, unit=unit, community_id=member.community_id, owner_id=member.id
    )


def household_wallet(session: Session, household: Household) -> ledger.Account:
    return ledger.open_account(
        session,
        type=AccountType.HOUSEHOLD_WALLET,
        unit=Unit.COIN,
        community_id=household.community_id,
        owner_id=household.id,
    )


def register_household(session: Session, *, community_id: int, name: str, address: str = "") -> Household:
    get_community(session, community_id)
    household = Household(community_id=community_id, name=name, address=address)
    session.add(household)
    session.flush()
    household_wallet(session, household)
    return household


def member_by_card(session: Session, card_code: str | None, *, community_id: int | None = None) -> Member | None:
    """The resident holding this card code (normalised), optionally within one community."""
    code = normalise_card_code(card_code)
    if not code:
        return None
    query = select(Member).where(Member.card_code == code)
    if community_id is not None:
        query = query.where(Member.community_id == community_id)
    return session.scalars(query).first()


def protect_national_id(session: Session, raw: str, *, member_id: int | None = None) -> tuple[str, str]:
    """The keyed digest and the last-four mask of a national ID number (the number itself is kept
    nowhere); refuses a number another resident holds."""
    try:
        value = normalise_national_id(raw)
    except ValueError as exc:
        raise Invalid(str(exc), code="invalid_national_id") from None
    digest = national_id_digest(value)
    holder = session.scalars(select(Member.id).where(Member.national_id_digest == digest)).first()
    if holder is not None and holder != member_id:
        raise Conflict("a resident with this national ID number is registered", code="national_id_taken")
    return digest, mask_national_id(value)


def check_birth_date(birth_date: dt.date | None) -> None:
    if birth_date and birth_date > dt.date.today():
        raise Invalid("the birth date is in the future", code="invalid_birth_date")


def new_pin() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def register_member(
    session: Session,
    *,
    community_id: int,
    name: str,
    phone: str | None = None,
    national_id: str | None = None,
    household_id: int | None = None,
    birth_date: dt.date | None = None,
    pin: str | None = None,
    card_code: str | None = None,
) -> Member:
    """Register a resident with a card code, a volunteer number and COIN and HOUR wallets."""
    get_community(session, community_id)
    if household_id is not None and get_household(session, household_id).community_id != community_id:
        raise Invalid("the household belongs to another community", code="household_other_community")
    digest, masked = protect_national_id(session, national_id) if national_id else (None, None)
    check_birth_date(birth_date)
    card_code = normalise_card_code(card_code) or new_card_code()
    if session.scalars(select(Member.id).where(Member.card_code == card_code)).first():
        raise Conflict("this card code is in use", code="card_code_taken")
    member = Member(
        community_id=community_id,
        household_id=household_id,
        name=name,
        phone=phone,
        national_id_digest=digest,
        national_id_masked=masked,
        birth_date=birth_date,
        card_code=card_code,
        pin_hash=hash_secret(pin) if pin else None,
        # Unique placeholder until the id is known; the number is derived from community and id.
        volunteer_number=f"tmp-{secrets.token_hex(6)}",
    )
    session.add(member)
    session.flush()
    member.volunteer_number = f"V{community_id:04d}{member.id:08d}"
    for unit in Unit:
        member_wallet(session, member, unit)
    session.flush()
    return member


def find_members(
    session: Session,
    *,
    community_id: int | None,
    card_code=None,
    phone=None,
    phone_tail=None,
    volunteer_number=None,
    name=None,
    limit=50,
    offset=0,
    after: int | None = None,
):
    """Residents in id order, filtered; ``after`` (the last id of the previous page) pages by key."""
    query = select(Member).order_by(Member.id)
    if community_id is not None:
        query = query.where(Member.community_id == community_id)
    if card_code:
        query = query.where(Member.card_code == normalise_card_code(card_code))
    if phone:
        query = query.where(Member.phone == phone)
    if phone_tail:
        query = query.where(Member.phone.endswith(phone_tail, autoescape=True))
    if volunteer_number:
        query = query.where(Member.volunteer_number == volunteer_number.strip().upper())
    if name:
        query = query.where(Member.name.contains(name, autoescape=True))
    if after is not None:
        query = query.where(Member.id > after)
    return session.scalars(query.limit(limit).offset(offset)).all()


def _wallet_balance(type_: AccountType, owner, unit: Unit):
    """The stored balance of the wallet whose owner is the (correlated) ``owner`` column."""
    code = literal(f"{type_.value}:") + cast(owner, String) + literal(f":{unit.value}")
    return select(Account.balance).where(Account.code == code).scalar_subquery()


def _balances_statement():
    """ONE query: the member's community and household, the stored balances of their wallets
    (O(1) in history) and their lifetime minutes. Built once (building and cache-keying a
    statement per request costs more than running it)."""
    m = Member.__table__.c
    hour_code = literal(f"{AccountType.MEMBER_WALLET.value}:") + cast(m.id, String) + literal(f":{Unit.HOUR.value}")
    # Every member's lifetime entries, narrowed to this member's HOUR wallet by its (indexed) code.
    lifetime = (
        stars.lifetime_hour_entries(func.coalesce(func.sum(Entry.amount), 0))
        .where(Account.code == hour_code)
        .scalar_subquery()
    )
    return select(
        m.id, m.community_id, m.household_id,
        _wallet_balance(AccountType.MEMBER_WALLET, m.id, Unit.COIN),
        _wallet_balance(AccountType.MEMBER_WALLET, m.id, Unit.HOUR),
        _wallet_balance(AccountType.HOUSEHOLD_WALLET, m.household_id, Unit.COIN),
        lifetime,
    ).where(m.id == bindparam("member_id"))


_BALANCES = _balances_statement()


@dataclass(frozen=True)
class Wallets:
    """A resident's stored wallet balances (0 for a wallet not opened yet)."""

    coins: int
    hours_minutes: int
    household_coins: int


def _wallets_statement():
    m = Member.__table__.c
    return select(
        m.id,
        _wallet_balance(AccountType.MEMBER_WALLET, m.id, Unit.COIN),
        _wallet_balance(AccountType.MEMBER_WALLET, m.id, Unit.HOUR),
        _wallet_balance(AccountType.HOUSEHOLD_WALLET, m.household_id, Unit.COIN),
    ).where(m.id.in_(bindparam("ids", expanding=True)))


_WALLETS = _wallets_statement()


def wallets_of(session: Session, member_ids) -> dict[int, Wallets]:
    """Member id -> their coins, minutes and household coins from the stored wallet balances, for many
    residents in one read (a family at the counter, the elders a helper acts for)."""
    ids = list(member_ids)
    if not ids:
        return {}
    return {mid: Wallets(int(coins or 0), int(hours or 0), int(household or 0))
            for mid, coins, hours, household in session.execute(_WALLETS, {"ids": ids})}


def _balances(session: Session, member_id: int):
    # Plain columns: sent as built (``rows.first_row``), without the ORM's or Core's per-call work
    # on the hottest read there is.
    return first_row(session, _BALANCES, {"member_id": member_id})


def _balance_view(row) -> dict:
    member_id, _community_id, household_id, coins, hours, household_coins, lifetime = row
    return {
        "member_id": member_id,
        "coins": int(coins or 0),
        "hours_minutes": int(hours or 0),
        "lifetime_hours_minutes": int(lifetime),
        "star": stars.star_for(int(lifetime)),
        "household_coins": int(household_coins or 0) if household_id else None,
    }


def member_balance(session: Session, member: Member) -> dict:
    """Coins, hours, lifetime hours, star and household coins, in one query."""
    return _balance_view(_balances(session, member.id))


def balance_for(session: Session, principal, member_id: int) -> dict:
    """A member's balance for a caller who may see them (404 otherwise), in one query."""
    row = _balances(session, member_id)
    if row is None:
        raise NotFound("member not found")
    principal.require_member(row[0], row[1])
    return _balance_view(row)


def member_statement(session: Session, member: Member, *, unit: str | None, limit: int, before: int | None):
    """A page of the member's wallets' lines (of one unit or both). The wallets are found by their
    codes in one read; one not opened yet has no lines (a read opens nothing)."""
    units = [Unit(unit)] if unit else list(Unit)
    codes = [account_code(AccountType.MEMBER_WALLET, member.id, u) for u in units]
    accounts = session.scalars(select(Account.id).where(Account.code.in_(codes))).all()
    return ledger.statement(session, accounts, limit=limit, before=before)
