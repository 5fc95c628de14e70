"""Creating communities and their places, each with the ledger accounts it needs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import AccountType, Unit

from ..audit.operations import record_audit, snapshot
from ..errors import Conflict
from ..rows import get_row
from .models import Community, Station, Supermarket

SETTINGS = (
    "name",
    "name_en",
    "coins_per_hour",
    "daily_cap_minutes",
    "late_entry_days",
    "four_eyes",
    "notice_period_days",
    "hour_storage_cap_minutes",
    "min_spend_age",
    "coin_expiry_month_day",
    "fraud_frequent_credits",
    "fraud_frequent_window_days",
    "fraud_long_record_minutes",
    "fraud_day_total_minutes",
    "objection_contact",
    "certificate_issuer",
    "person_in_charge",
    "helper_monthly_coin_cap",
)
TEXT_SETTINGS = ("objection_contact", "certificate_issuer", "person_in_charge")


def get_community(session: Session, community_id: int) -> Community:
    return get_row(session, Community, community_id, what="community")


def issuance_account(session: Session, community_id: int, unit: Unit) -> ledger.Account:
    """The community's source of new coins or hours (its negative balance is what circulates)."""
    return ledger.open_account(
        session, type=AccountType.ISSUANCE, unit=unit, community_id=community_id, owner_id=community_id
    )


def expiry_sink(session: Session, community_id: int) -> ledger.Account:
    return ledger.open_account(
        session, type=AccountType.EXPIRY_SINK, unit=Unit.COIN, community_id=community_id, owner_id=community_id
    )


def create_community(session: Session, *, code: str, name: str, **settings) -> Community:
    """A community with its issuance and expiry accounts (``flows.open_community`` also seeds its
    indicators)."""
    if session.scalars(select(Community.id).where(Community.code == code)).first():
        raise Conflict("a community with this code exists", code="community_code_taken")
    community = Community(code=code, name=name, **{k: v for k, v in settings.items() if k in SETTINGS})
    session.add(community)
    session.flush()
    for unit in Unit:
        issuance_account(session, community.id, unit)
    expiry_sink(session, community.id)
    return community


def update_community(session: Session, community: Community, changes: dict, *, principal=None) -> Community:
    """Change a community's settings, audit-logged (past postings keep the values they were made with)."""
    changed = {key: value for key, value in changes.items() if key in SETTINGS}
    for key in TEXT_SETTINGS:
        if key in changed and changed[key] is None:
            changed[key] = ""  # an emptied text field clears it
    before = snapshot(community, changed)
    for key, value in changed.items():
        setattr(community, key, value)
    session.flush()
    if before != changed:
        record_audit(
            session, principal=principal, action="community.update", target_type="community",
            target_id=community.id, community_id=community.id, before=before, after=changed,
        )
    return community


def get_station(session: Session, station_id: int) -> Station:
    return get_row(session, Station, station_id, what="station")


def create_station(session: Session, *, community_id: int, code: str, name: str, address: str = "") -> Station:
    get_community(session, community_id)
    taken = select(Station.id).where(Station.community_id == community_id, Station.code == code)
    if session.scalars(taken).first():
        raise Conflict("a station with this code exists in the community", code="station_code_taken")
    station = Station(community_id=community_id, code=code, name=name, address=address)
    session.add(station)
    session.flush()
    return station


def create_supermarket(
    session: Session, *, community_id: int, code: str, name: str, address: str = ""
) -> Supermarket:
    get_community(session, community_id)
    taken = select(Supermarket.id).where(Supermarket.community_id == community_id, Supermarket.code == code)
    if session.scalars(taken).first():
        raise Conflict("a supermarket with this code exists in the community", code="supermarket_code_taken")
    supermarket = Supermarket(community_id=community_id, code=code, name=name, address=address)
    session.add(supermarket)
    session.flush()
    till_account(session, supermarket)
    return supermarket


def till_account(session: Session, supermarket: Supermarket) -> ledger.Account:
    """The supermarket's till: receives the coins of redemptions."""
    return ledger.open_account(
        session,
        type=AccountType.SUPERMARKET_TILL,
        unit=Unit.COIN,
        community_id=supermarket.community_id,
        owner_id=supermarket.id,
    )
