"""Passwords, tokens and staff accounts."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..community.models import Station, Supermarket
from ..errors import Conflict, Invalid, NotFound, Unauthorized
from ..extensions import db
from .access import Principal
from .models import STAFF_ROLES, ApiToken, Role, Staff

# GREENCOIN_FAST_HASH=1 (tests only) trades argon2's cost for speed; production keeps the defaults.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if os.environ.get("GREENCOIN_FAST_HASH") == "1"
    else PasswordHasher()
)
# Verified against when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("greencoin-no-such-user")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, staff_id: int | None = None, member_id: int | None = None) -> tuple[str, dt.datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + dt.timedelta(minutes=current_app.config["TOKEN_TTL_MINUTES"])
    session.add(ApiToken(token_hash=_token_digest(token), staff_id=staff_id, member_id=member_id, expires_at=expires_at))
    return token, expires_at


def login_staff(session: Session, username: str, password: str) -> tuple[str, dt.datetime]:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if not verify_secret(staff.password_hash if staff else None, password) or not staff.active:
        raise Unauthorized("wrong username or password", code="invalid_credentials")
    return issue_token(session, staff_id=staff.id)


def login_resident(session: Session, card_code: str, pin: str) -> tuple[str, dt.datetime]:
    from ..members.models import Member

    member = session.scalars(select(Member).where(Member.card_code == card_code)).first()
    if not verify_secret(member.pin_hash if member else None, pin) or not member.active:
        raise Unauthorized("wrong card code or PIN", code="invalid_credentials")
    return issue_token(session, member_id=member.id)


def principal_for_staff(staff: Staff) -> Principal:
    return Principal(
        role=Role(staff.role),
        staff_id=staff.id,
        community_id=staff.community_id,
        station_id=staff.station_id,
        supermarket_id=staff.supermarket_id,
        name=staff.name,
    )


def principal_for_token(token: str) -> Principal | None:
    from ..members.models import Member

    session = db.session
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _token_digest(token))).first()
    if row is None or row.revoked or row.expires_at <= utcnow():
        return None
    if row.staff_id is not None:
        staff = session.get(Staff, row.staff_id)
        return principal_for_staff(staff) if staff and staff.active else None
    member = session.get(Member, row.member_id)
    if member is None or not member.active:
        return None
    return Principal(role=Role.RESIDENT, member_id=member.id, community_id=member.community_id, name=member.name)


def create_staff(
    session: Session,
    *,
    username: str,
    password: str,
    name: str,
    role: str,
    community_id: int | None = None,
    station_id: int | None = None,
    supermarket_id: int | None = None,
) -> Staff:
    """Create a staff member; the place must fit the role (a cashier needs a supermarket …)."""
    role = Role(role)
    if role not in STAFF_ROLES:
        raise Invalid("not a staff role", role=role.value)
    if len(password) < 8:
        raise Invalid("the password needs at least 8 characters", code="weak_password")
    if session.scalars(select(Staff.id).where(Staff.username == username)).first():
        raise Conflict("this username is taken", code="username_taken")
    if role == Role.STATION_STAFF:
        station = session.get(Station, station_id) if station_id else None
        if station is None:
            raise Invalid("station staff need an existing station_id", code="station_required")
        community_id = station.community_id
        supermarket_id = None
    elif role == Role.CASHIER:
        supermarket = session.get(Supermarket, supermarket_id) if supermarket_id else None
        if supermarket is None:
            raise Invalid("a cashier needs an existing supermarket_id", code="supermarket_required")
        community_id = supermarket.community_id
        station_id = None
    else:
        station_id = supermarket_id = None
        if role == Role.SUPERVISOR and community_id is None:
            raise Invalid("a supervisor needs a community_id", code="community_required")
    if community_id is not None:
        from ..community.models import Community

        if session.get(Community, community_id) is None:
            raise NotFound("community not found")
    staff = Staff(
        username=username,
        password_hash=hash_secret(password),
        name=name,
        role=role.value,
        community_id=community_id,
        station_id=station_id,
        supermarket_id=supermarket_id,
    )
    session.add(staff)
    session.flush()
    return staff
