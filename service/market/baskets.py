"""Reading baskets back: one by id, or a keyset-paged list, each within the reader's scope."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..auth.access import Principal
from ..auth.models import Role
from ..errors import NotFound
from ..listing import keyset_page
from ..rows import get_row
from .models import Redemption
from .scope import require_reader, scope_to_supermarkets


def get_redemption(session: Session, principal: Principal, redemption_id: int) -> Redemption:
    redemption = get_row(session, Redemption, redemption_id, what="redemption")
    if principal.role == Role.RESIDENT:
        if principal.member_id != redemption.member_id:
            raise NotFound("redemption not found")
        return redemption
    require_reader(principal, redemption.supermarket_id, redemption.community_id, what="redemption")
    return redemption


def redemptions_query():
    """Baskets to list, with what every listed basket shows (its refunds for the status and refunded
    total, the resident for the masked name) loaded for the whole page at once: left lazy, each
    basket read them again, as the identity map keeps no loaded row alive between baskets."""
    return select(Redemption).options(selectinload(Redemption.refunds), selectinload(Redemption.member))


def list_redemptions(
    session: Session,
    principal: Principal,
    *,
    supermarket_id: int | None = None,
    member_id: int | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[Redemption]:
    """Newest first, keyset-paginated by id; residents see only their own baskets."""
    query = redemptions_query()
    if principal.role == Role.RESIDENT:
        if member_id is not None and member_id != principal.member_id:
            raise NotFound("member not found")
        query = query.where(Redemption.member_id == principal.member_id)
        if supermarket_id is not None:
            query = query.where(Redemption.supermarket_id == supermarket_id)
    else:
        query = scope_to_supermarkets(query, Redemption, principal, supermarket_id, session)
        if member_id is not None:
            query = query.where(Redemption.member_id == member_id)
    return keyset_page(session, query, Redemption, limit=limit, before=before)
