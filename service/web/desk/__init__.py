"""The station desk (志愿服务站): find or register a resident, log service hours (one record or a
sign-in sheet), review pending records (four-eyes), reverse approved ones, award or deduct an
indicator. Everything happens in the desk's community."""

from __future__ import annotations

from sqlalchemy import select

from ...auth.models import Role, Staff
from ...errors import DomainError
from ...extensions import db
from ...members.models import Member
from ...members.operations import find_members
from ..core import principal

DESK = (Role.STATION_STAFF, Role.ADMIN)


def desk_community_id() -> int:
    who = principal()
    if who.community_id is None:
        raise DomainError("a city administrator works at the desk of a community", code="community_required")
    return who.community_id


def search_members(query: str, *, by_card_or_phone: bool = False):
    """Volunteer number or part of the name, in the desk's community; card code and phone too when
    the query came in a POST body (they never travel in a URL)."""
    query = query.strip()
    if not query:
        return []
    community_id = desk_community_id()
    keys = ("card_code", "volunteer_number", "phone") if by_card_or_phone else ("volunteer_number",)
    for key in keys:
        found = find_members(db.session, community_id=community_id, **{key: query}, limit=20)
        if found:
            return found
    return find_members(db.session, community_id=community_id, name=query, limit=20)


def staff_names(ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids))).all())


def member_names(ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))}
