"""The one rule of role-scoped lists and the one keyset pagination, for every list of records.

A resident sees only their own rows; anyone else sees the community they ask for (checked against
their scope), else their own community (a city-wide administrator: every community). Lists are
newest first and paged by id: ``before`` is the last id the caller has seen, so a page never skips
or repeats a row while new ones arrive, and costs the same at any depth (an offset does not).
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from .auth.access import Principal
from .auth.models import Role
from .errors import Forbidden


def role_scoped(query: Select, principal: Principal, model, *, community_id=None, own=None) -> Select:
    """``query`` narrowed to what the caller may list. ``own`` is the condition that picks a
    resident's own rows; a list without one is not for residents."""
    if principal.role == Role.RESIDENT:
        if own is None:
            raise Forbidden("residents do not list these")
        return query.where(own)
    community_id = principal.listing_community(community_id)
    return query if community_id is None else query.where(model.community_id == community_id)


def keyset_page(session: Session, query: Select, model, *, limit: int = 50, before: int | None = None) -> list:
    """One page of ``query``, newest first: the ``limit`` rows with an id below ``before``."""
    query = query.order_by(model.id.desc())
    if before is not None:
        query = query.where(model.id < before)
    return session.scalars(query.limit(limit)).all()


def community_page(
    session: Session, principal: Principal, model, *filters, community_id=None, own=None, limit=50, before=None
) -> list:
    """Rows of ``model`` matching ``filters`` that the caller may list, one keyset page."""
    query = role_scoped(select(model).where(*filters), principal, model, community_id=community_id, own=own)
    return keyset_page(session, query, model, limit=limit, before=before)


def given(*pairs) -> list:
    """``column == value`` for each ``(column, value)`` pair whose value was given (not None): the
    optional filters of a list."""
    return [column == value for column, value in pairs if value is not None]
