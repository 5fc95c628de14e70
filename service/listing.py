"""One community-scoped, keyset-paginated listing for the review lists (flags, fraud alerts)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .auth.access import Principal


def community_page(
    session: Session, principal: Principal, model, *filters, community_id=None, limit=50, before=None
) -> list:
    """Rows of ``model`` newest first: of ``community_id`` (checked against the caller), else of the
    caller's own community (a city-wide administrator: every community); ``before`` = last id seen."""
    query = select(model).where(*filters).order_by(model.id.desc())
    community_id = principal.listing_community(community_id)
    if community_id is not None:
        query = query.where(model.community_id == community_id)
    if before:
        query = query.where(model.id < before)
    return session.scalars(query.limit(limit)).all()
