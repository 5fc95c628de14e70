"""Staff accounts and API tokens."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"  # a community's administrator, or the whole city's when community_id is null
    STATION_STAFF = "station_staff"
    CASHIER = "cashier"
    SUPERVISOR = "supervisor"  # read-only (村务监督委员会)
    RESIDENT = "resident"  # not a staff role: residents sign in with card code + PIN


STAFF_ROLES = (Role.ADMIN, Role.STATION_STAFF, Role.CASHIER, Role.SUPERVISOR)


class Staff(Base):
    """A staff member: station staff, cashier, supervisor or administrator, scoped to one place."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    supermarket_id: Mapped[int | None] = mapped_column(ForeignKey("supermarkets.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set by an administrator's password reset: the one-time password only lets them choose a new one.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TokenKind(StrEnum):
    API = "api"  # an API bearer token
    WEB = "web"  # a signed-in browser: its id travels in the session cookie, never usable as a bearer


class ApiToken(Base):
    """A bearer token or a browser session; only the SHA-256 of its secret is stored. Subject is a
    staff member or a resident. A ``web`` row authenticates only pages, an ``api`` row only the API."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(8), default=TokenKind.API.value, server_default=TokenKind.API.value)


class SignInGuard(Base):
    """Failed sign-ins of one account, counted in the database so every web process sees them.

    ``account_key`` is ``staff:<id>`` or ``member:<id>``; for a name, card or phone that matches
    no account it is a keyed digest of what was typed, so unknown and known accounts behave alike.
    """

    __tablename__ = "sign_in_guards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_key: Mapped[str] = mapped_column(String(80), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row, since the last success
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
