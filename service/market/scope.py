"""Which supermarket a caller acts for or may read."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..auth.access import Principal
from ..auth.models import Role
from ..community.models import Supermarket
from ..errors import Invalid, NotFound
from ..rows import get_row


def get_supermarket(session: Session, supermarket_id: int) -> Supermarket:
    return get_row(session, Supermarket, supermarket_id, what="supermarket")


def supermarket_for(session: Session, principal: Principal, supermarket_id: int | None) -> Supermarket:
    """The supermarket a cashier or administrator acts for (a cashier's own by default)."""
    if supermarket_id is None:
        if principal.supermarket_id is None:
            raise Invalid("name the supermarket_id", code="supermarket_required")
        supermarket_id = principal.supermarket_id
    supermarket = get_supermarket(session, supermarket_id)
    principal.require_supermarket(supermarket.id, supermarket.community_id)
    return supermarket


def require_reader(principal: Principal, supermarket_id: int, community_id: int, *, what: str) -> None:
    """Cashiers read their own supermarket's records; administrators and supervisors their community's."""
    principal.require_community(community_id, what=what)
    if principal.role == Role.CASHIER and principal.supermarket_id != supermarket_id:
        raise NotFound(f"{what} not found")
    if principal.role in (Role.STATION_STAFF, Role.RESIDENT):
        raise NotFound(f"{what} not found")


def readable_supermarket(session: Session, principal: Principal, supermarket_id: int) -> Supermarket:
    supermarket = get_supermarket(session, supermarket_id)
    require_reader(principal, supermarket.id, supermarket.community_id, what="supermarket")
    return supermarket


def scope_to_supermarkets(query, model, principal: Principal, supermarket_id: int | None, session: Session):
    """Restrict a list of ``model`` rows to what the caller may read (and to one supermarket if named)."""
    if supermarket_id is not None:
        readable_supermarket(session, principal, supermarket_id)
        return query.where(model.supermarket_id == supermarket_id)
    if principal.role == Role.CASHIER:
        return query.where(model.supermarket_id == principal.supermarket_id)
    if not principal.is_city_admin:
        return query.where(model.community_id == principal.community_id)
    return query
