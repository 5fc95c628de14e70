"""The office (administrators and supervisors): the community's setup, the catalogue, indicators,
budgets, the monthly disclosure, reconciliation and alerts. Every office page shows the community it
is about (a city administrator switches between them)."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from ...auth.models import Role
from ...community.models import Community
from ...community.operations import get_community
from ...errors import DomainError
from ...extensions import db
from ..core import principal
from ..forms import form_page

OFFICE = (Role.ADMIN, Role.SUPERVISOR)


def page_community() -> Community:
    """The community the page is about: the person's own, or for a city administrator the one
    chosen with ``?community=`` (the first one otherwise)."""
    who = principal()
    if who.community_id is not None:
        return get_community(db.session, who.community_id)
    chosen = request.values.get("community", type=int)
    community = db.session.get(Community, chosen) if chosen else None
    community = community or db.session.scalars(select(Community).order_by(Community.id)).first()
    if community is None:
        raise DomainError("there is no community yet", code="not_found")
    return community


def can_write() -> bool:
    return principal().role == Role.ADMIN


def communities_for_switcher() -> list[Community]:
    if not principal().is_city_admin:
        return []
    return db.session.scalars(select(Community).order_by(Community.id)).all()


def office_page(template: str, status: int = 200, **context):
    """A form page of the office, with the community, whether the person may write, and the switcher."""
    context.setdefault("community", page_community())
    return form_page(template, status, can_write=can_write(), switcher=communities_for_switcher(), **context)
