"""The one authorisation mechanism every endpoint goes through.

Every API view method declares who may call it with ``@access(...)`` (or ``@public``). A
``before_request`` hook authenticates the bearer token and checks the declared roles *before* the
view runs; a view without a declaration is refused (fail closed), and a test walks the URL map to
prove every endpoint has one. Data scope (which community, station, supermarket or member) is
checked with the ``Principal`` methods, which operations call with the object they touch.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request
from sqlalchemy import and_, bindparam, select

from ledger.models import utcnow

from ..errors import Forbidden, NotFound, Unauthorized
from ..extensions import db
from ..rows import first_row
from .models import ApiToken, Role, Staff, TokenKind
from .residents import resident_accounts

ACCESS_ATTR = "_greencoin_access"
PUBLIC = "public"


def access(*roles: Role | str) -> Callable:
    """Allow these roles to call the view method (scope is then checked on the data)."""
    allowed = frozenset(Role(r) for r in roles)

    def mark(fn):
        setattr(fn, ACCESS_ATTR, allowed)
        return fn

    return mark


def public(fn):
    """No authentication: health checks, token issue, certificate look-up by number."""
    setattr(fn, ACCESS_ATTR, PUBLIC)
    return fn


PASSWORD_CHANGE_ATTR = "_greencoin_before_password_change"


def before_password_change(fn):
    """Also open to someone whose password an administrator reset (who must choose a new one first)."""
    setattr(fn, PASSWORD_CHANGE_ATTR, True)
    return fn


def declared_before_password_change(view_function) -> bool:
    view_class = getattr(view_function, "view_class", None)
    target = getattr(view_class, request.method.lower(), None) if view_class is not None else view_function
    return bool(getattr(target, PASSWORD_CHANGE_ATTR, False))


STAFF = (Role.ADMIN, Role.STATION_STAFF, Role.CASHIER, Role.SUPERVISOR)
EVERYONE = (*STAFF, Role.RESIDENT)


@dataclass(frozen=True)
class Principal:
    """Who is calling, with the scope of their role."""

    role: Role
    staff_id: int | None = None
    member_id: int | None = None
    community_id: int | None = None  # None only for a city-wide administrator
    station_id: int | None = None
    supermarket_id: int | None = None
    name: str = ""
    must_change_password: bool = False  # after an administrator's reset: only a new password is allowed

    @property
    def key(self) -> str:
        return f"staff:{self.staff_id}" if self.staff_id else f"member:{self.member_id}"

    @property
    def is_city_admin(self) -> bool:
        return self.role == Role.ADMIN and self.community_id is None

    def sees_community(self, community_id: int) -> bool:
        return self.is_city_admin or self.community_id == community_id

    def listing_community(self, community_id: int | None) -> int | None:
        """The community a list is limited to: the one asked for (if in scope), else the caller's
        own; None means every community (a city administrator who named none)."""
        if community_id is not None:
            self.require_community(community_id, what="community")
            return community_id
        return None if self.is_city_admin else self.community_id

    def require_community(self, community_id: int, *, what: str = "resource") -> None:
        """Reads: anyone scoped to the community. Out-of-scope data is reported as not found,
        so ids of other communities leak nothing."""
        if not self.sees_community(community_id):
            raise NotFound(f"{what} not found")

    def require_admin_of(self, community_id: int) -> None:
        self.require_community(community_id)
        if self.role != Role.ADMIN:
            raise Forbidden("only an administrator of this community may do this")

    def require_writer_in(self, community_id: int) -> None:
        """Writes: staff of the community other than supervisors (read-only) and residents."""
        self.require_community(community_id)
        if self.role in (Role.SUPERVISOR, Role.RESIDENT):
            raise Forbidden("this role is read-only here")

    def require_member(self, member_id: int, community_id: int) -> None:
        """A resident sees only themself; staff see members of their community."""
        if self.role == Role.RESIDENT:
            if self.member_id != member_id:
                raise NotFound("member not found")
            return
        self.require_community(community_id, what="member")

    def require_station(self, station_id: int, community_id: int) -> None:
        """Station staff act only for their own station; administrators for their community."""
        self.require_community(community_id, what="station")
        if self.role == Role.ADMIN:
            return
        if self.role != Role.STATION_STAFF or self.station_id != station_id:
            raise Forbidden("you can act only for your own station")

    def require_supermarket(self, supermarket_id: int, community_id: int) -> None:
        """Cashiers act only for their own supermarket; administrators for their community."""
        self.require_community(community_id, what="supermarket")
        if self.role == Role.ADMIN:
            return
        if self.role != Role.CASHIER or self.supermarket_id != supermarket_id:
            raise Forbidden("you can act only for your own supermarket")


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized("authentication required")
    return principal


def declared_access(view_function) -> frozenset | str | None:
    """The access declaration of the view method that will handle this request."""
    view_class = getattr(view_function, "view_class", None)
    if view_class is not None:
        method = getattr(view_class, request.method.lower(), None)
        if method is None and request.method == "HEAD":
            method = getattr(view_class, "get", None)
        return getattr(method, ACCESS_ATTR, None) if method else PUBLIC  # 405 follows
    return getattr(view_function, ACCESS_ATTR, None)


def enforce_access_policy() -> None:
    """``before_request`` for the API blueprints."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or request.method == "OPTIONS":
        return  # 404/405 are answered by the router
    policy = declared_access(view)
    if policy is None:
        raise Forbidden("this endpoint declares no access policy", code="no_access_policy")
    if policy == PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    principal = principal_for_token(token.strip())  # one query, with the active checks
    if principal is None:
        raise Unauthorized("the token is invalid or has expired", code="invalid_token")
    g.principal = principal
    if principal.role not in policy:
        raise Forbidden(f"the role {principal.role.value} may not do this")
    if principal.must_change_password and not declared_before_password_change(view):
        raise Forbidden("choose a new password first (POST /api/v1/auth/password)", code="password_change_required")


# --- who a token or browser session belongs to --------------------------------------------------


def token_digest(token: str) -> str:
    """Only this SHA-256 of a token or session id is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def _principal_statement():
    """The token look-up, built once (Core, bound parameters): a request only binds and sends it."""
    members = resident_accounts().__table__  # the members domain's table, registered with auth
    staff, token, member = Staff.__table__.c, ApiToken.__table__.c, members.c
    return (
        select(
            staff.id, staff.role, staff.community_id, staff.station_id, staff.supermarket_id, staff.name,
            staff.must_change_password, member.id, member.community_id, member.name,
        )
        .select_from(ApiToken.__table__)
        .outerjoin(Staff.__table__, and_(staff.id == token.staff_id, staff.active.is_(True)))
        .outerjoin(members, and_(member.id == token.member_id, member.active.is_(True)))
        .where(
            token.token_hash == bindparam("digest"),
            token.kind == bindparam("kind"),
            token.revoked.is_(False),
            token.expires_at > bindparam("now"),
        )
    )


def principal_for_token(token: str, *, kind: TokenKind = TokenKind.API) -> Principal | None:
    """The signed-in person of a bearer token (or a browser session), in ONE query: the token joined
    to its active staff member or resident, so revocation and deactivation take effect at once."""
    row = first_row(db.session, _principal_statement(),
                    {"digest": token_digest(token), "kind": kind.value, "now": utcnow()})
    if row is None:
        return None
    staff_id, role, community_id, station_id, supermarket_id, name, must_change, member_id, m_community, m_name = row
    if staff_id is not None:
        return Principal(
            role=Role(role), staff_id=staff_id, community_id=community_id, station_id=station_id,
            supermarket_id=supermarket_id, name=name, must_change_password=bool(must_change),
        )
    if member_id is not None:
        return Principal(role=Role.RESIDENT, member_id=member_id, community_id=m_community, name=m_name)
    return None
