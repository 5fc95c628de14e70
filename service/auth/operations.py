"""Passwords, tokens and staff accounts."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..audit.operations import record_audit
from ..community.models import Community, Station, Supermarket
from ..errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from ..rows import get_row
from .access import Principal, token_digest
from .identity import (
    identity_digest,
    normalise_username,
    resident_identity,
    stored_phone_forms,
    typed_card_code,
)
from .lockout import Account, clear_lockout, guarded_check
from .models import STAFF_ROLES, ApiToken, Role, Staff, TokenKind
from .residents import resident_accounts

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


def issue_token(
    session: Session, *, staff_id: int | None = None, member_id: int | None = None, kind: TokenKind = TokenKind.API
) -> tuple[str, dt.datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + dt.timedelta(minutes=current_app.config["TOKEN_TTL_MINUTES"])
    session.add(
        ApiToken(
            token_hash=token_digest(token), staff_id=staff_id, member_id=member_id, expires_at=expires_at, kind=kind.value
        )
    )
    return token, expires_at


@dataclass(frozen=True)
class SignInResult:
    """What a sign-in attempt came to. The transaction commits either way (a failure is counted),
    and the caller turns a failure into its answer with ``raise_for_failure``."""

    token: str | None = None
    expires_at: dt.datetime | None = None
    locked_until: dt.datetime | None = None
    must_change_password: bool = False
    error: str = "wrong username or password"

    def raise_for_failure(self) -> None:
        if self.token:
            return
        if self.locked_until:
            raise TooManyRequests(
                "too many failed sign-ins: this account is locked for now",
                code="account_locked",
                retry_at=self.locked_until.isoformat(),
            )
        raise Unauthorized(self.error, code="invalid_credentials")


def login_staff(session: Session, username: str, password: str, *, kind: TokenKind = TokenKind.API) -> SignInResult:
    username = normalise_username(username)
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        account = Account(key=f"unknown:{identity_digest('staff', username)}")
    else:
        account = Account(key=f"staff:{staff.id}", target_type="staff", target_id=staff.id, community_id=staff.community_id)
    verdict = guarded_check(
        session, account, lambda: verify_secret(staff.password_hash if staff else None, password) and staff.active
    )
    if not verdict.ok:
        return SignInResult(locked_until=verdict.locked_until)
    token, expires_at = issue_token(session, staff_id=staff.id, kind=kind)
    return SignInResult(token, expires_at, must_change_password=staff.must_change_password)


def find_resident(session: Session, identity: tuple[str, str] | None, typed: str = ""):
    """The active or inactive member a card code or phone number names; None if none or, for a phone
    that several residents share, ambiguous (they sign in with their card)."""
    Member = resident_accounts()  # the members domain's class, registered with auth (auth.residents)
    if identity is None or not identity[1]:
        return None
    kind, value = identity
    if kind == "phone":
        found = session.scalars(select(Member).where(Member.phone.in_(stored_phone_forms(value))).limit(2)).all()
        return found[0] if len(found) == 1 else None
    codes = {value, typed} if typed else {value}
    return session.scalars(select(Member).where(Member.card_code.in_(codes)).limit(1)).first()


def login_resident(
    session: Session,
    card_code: str | None = None,
    pin: str = "",
    *,
    phone: str | None = None,
    identity: tuple[str, str] | None = None,
    kind: TokenKind = TokenKind.API,
) -> SignInResult:
    """Residents sign in with their card code (any case, spaces or dashes) or phone number, and PIN."""
    identity = identity or resident_identity(card_code=card_code, phone=phone)
    member = find_resident(session, identity, typed_card_code(card_code) if identity and identity[0] == "card" else "")
    if member is None:
        kind_, value = identity or ("none", "")
        account = Account(key=f"unknown:{identity_digest(kind_, value)}")
    else:
        account = Account(key=f"member:{member.id}", target_type="member", target_id=member.id, community_id=member.community_id)
    verdict = guarded_check(
        session, account, lambda: verify_secret(member.pin_hash if member else None, pin) and member.active
    )
    if not verdict.ok:
        return SignInResult(locked_until=verdict.locked_until, error="wrong card code, phone number or PIN")
    token, expires_at = issue_token(session, member_id=member.id, kind=kind)
    return SignInResult(token, expires_at)


def principal_for_staff(staff: Staff) -> Principal:
    return Principal(
        role=Role(staff.role),
        staff_id=staff.id,
        community_id=staff.community_id,
        station_id=staff.station_id,
        supermarket_id=staff.supermarket_id,
        name=staff.name,
        must_change_password=staff.must_change_password,
    )


def actor_names(session: Session, events) -> dict[int, str]:
    """The names of the staff who acted in some audit events (the log keeps their ids; auth keeps
    who they are), by staff id."""
    ids = {e.actor_staff_id for e in events if e.actor_staff_id}
    if not ids:
        return {}
    return dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids))).all())


def revoke_token(session: Session, token: str, *, kind: TokenKind) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.kind == kind.value)
        .values(revoked=True)
    )


def revoke_all(session: Session, *, staff_id: int | None = None, member_id: int | None = None, keep: str | None = None) -> int:
    """Revoke every token and browser session of one person (but ``keep``, the caller's own)."""
    subject = ApiToken.staff_id == staff_id if staff_id is not None else ApiToken.member_id == member_id
    query = update(ApiToken).where(subject, ApiToken.revoked.is_(False))
    if keep:
        query = query.where(ApiToken.token_hash != token_digest(keep))
    return session.execute(query.values(revoked=True)).rowcount


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
    if len(password) < MIN_PASSWORD:
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
    if community_id is not None and session.get(Community, community_id) is None:
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


# --- the lifecycle of staff accounts (every step audit-logged) -----------------------------------

MIN_PASSWORD = 8


def _staff_to_manage(session: Session, principal: Principal, staff_id: int) -> Staff:
    """A staff account the calling administrator manages: their community's, or any for the city's."""
    staff = get_row(session, Staff, staff_id, what="staff member", lock=True)
    if staff.community_id is None and not principal.is_city_admin:
        raise NotFound("staff member not found")
    if staff.community_id is not None:
        principal.require_admin_of(staff.community_id)
    return staff


def _audit_staff(session: Session, principal: Principal | None, action: str, staff: Staff, before: dict, after: dict):
    record_audit(
        session,
        principal=principal,
        action=action,
        target_type="staff",
        target_id=staff.id,
        community_id=staff.community_id,
        before=before,
        after=after,
    )


def deactivate_staff(session: Session, principal: Principal, staff_id: int) -> Staff:
    """Their tokens and browser sessions stop working at once (the look-up checks ``active`` too)."""
    staff = _staff_to_manage(session, principal, staff_id)
    if staff.id == principal.staff_id:
        raise Invalid("you cannot deactivate your own account", code="cannot_deactivate_self")
    before = {"active": staff.active}
    staff.active = False
    revoked = revoke_all(session, staff_id=staff.id)
    _audit_staff(session, principal, "staff.deactivate", staff, before, {"active": False, "sessions_revoked": revoked})
    return staff


def reactivate_staff(session: Session, principal: Principal, staff_id: int) -> Staff:
    """The account may sign in again; tokens from before the deactivation stay revoked."""
    staff = _staff_to_manage(session, principal, staff_id)
    before = {"active": staff.active}
    staff.active = True
    _audit_staff(session, principal, "staff.reactivate", staff, before, {"active": True})
    return staff


def reset_staff_password(session: Session, principal: Principal, staff_id: int) -> tuple[Staff, str]:
    """A one-time password, shown once to the administrator: it signs in only to choose a new one.
    Every token and session of the account is revoked and a sign-in lock lifted."""
    staff = _staff_to_manage(session, principal, staff_id)
    one_time = "-".join(secrets.token_hex(2) for _ in range(4))  # 64 bits, easy to read out
    before = {"password": "old", "must_change_password": staff.must_change_password}
    staff.password_hash = hash_secret(one_time)
    staff.must_change_password = True
    revoked = revoke_all(session, staff_id=staff.id)
    clear_lockout(session, f"staff:{staff.id}")
    after = {"password": "one-time", "must_change_password": True, "sessions_revoked": revoked}
    _audit_staff(session, principal, "staff.password_reset", staff, before, after)
    return staff, one_time


def change_own_password(
    session: Session, principal: Principal, *, current: str, new: str, keep: str | None
) -> SignInResult:
    """Staff change their own password (also the one-time one); other sessions are signed out.
    Wrong current passwords count towards the account's lockout like failed sign-ins."""
    if principal.staff_id is None:
        raise Forbidden("only staff have a password; residents use their PIN")
    staff = get_row(session, Staff, principal.staff_id, what="staff member", lock=True)
    if len(new) < MIN_PASSWORD:
        raise Invalid("the password needs at least 8 characters", code="weak_password")
    if new == current:
        raise Invalid("choose a password different from the current one", code="same_password")
    account = Account(key=f"staff:{staff.id}", target_type="staff", target_id=staff.id, community_id=staff.community_id)
    verdict = guarded_check(session, account, lambda: verify_secret(staff.password_hash, current))
    if not verdict.ok:
        return SignInResult(locked_until=verdict.locked_until, error="the current password is not right")
    staff.password_hash = hash_secret(new)
    before = {"password": "old", "must_change_password": staff.must_change_password}
    staff.must_change_password = False
    revoked = revoke_all(session, staff_id=staff.id, keep=keep)
    after = {"password": "new", "must_change_password": False, "sessions_revoked": revoked}
    _audit_staff(session, principal, "staff.password_change", staff, before, after)
    return SignInResult(token=keep or "kept")


def sign_out_everywhere(session: Session, principal: Principal) -> int:
    """Revoke every token and browser session of the caller, this one included."""
    revoked = revoke_all(session, staff_id=principal.staff_id, member_id=principal.member_id)
    record_audit(
        session,
        principal=principal,
        action="auth.sign_out_everywhere",
        target_type="staff" if principal.staff_id else "member",
        target_id=principal.staff_id or principal.member_id,
        community_id=principal.community_id,
        after={"sessions_revoked": revoked},
    )
    return revoked
