"""Naming, revoking and checking helpers; what a helper does is recorded and capped per month."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..auth.models import Role
from ..community.models import Community
from ..community.operations import get_community
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..localtime import date_of, midnight_utc
from ..members.models import Member
from ..members.operations import get_member, wallets_of
from ..privacy import mask_name
from ..rows import get_row
from .models import HelperAction, HelperGrant

HELPER_RELATIONS = (
    "parent", "child", "spouse", "grandparent", "grandchild", "sibling", "parent_in_law", "child_in_law",
    "grid_worker",  # 网格员
)


def _may_manage(principal: Principal, elder: Member) -> None:
    """The elder themself, or desk staff / an administrator of their community."""
    if principal.role == Role.RESIDENT:
        if principal.member_id != elder.id:
            raise NotFound("member not found")
        return
    principal.require_writer_in(elder.community_id)
    if principal.role not in (Role.STATION_STAFF, Role.ADMIN):
        raise Forbidden("the desk names helpers for a resident")


def _find_helper(session: Session, community_id: int, helper: str) -> Member:
    wanted = helper.strip()
    member = session.scalars(
        select(Member).where(Member.community_id == community_id, Member.volunteer_number == wanted)
    ).first()
    if member is None:
        raise Invalid("no resident of this community has that volunteer number", code="unknown_helper")
    return member


def active_grant(session: Session, *, elder_id: int, helper_id: int, lock: bool = False) -> HelperGrant | None:
    query = select(HelperGrant).where(
        HelperGrant.elder_member_id == elder_id, HelperGrant.helper_member_id == helper_id,
        HelperGrant.revoked_at.is_(None),
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def grant_helper(
    session: Session, principal: Principal, *, elder_member_id: int, helper: str, relation: str,
    monthly_coin_cap: int | None = None,
) -> HelperGrant:
    elder = get_member(session, elder_member_id)
    _may_manage(principal, elder)
    if relation not in HELPER_RELATIONS:
        raise Invalid("unknown relation", code="invalid_relation", allowed=list(HELPER_RELATIONS))
    helper_member = _find_helper(session, elder.community_id, helper)
    if helper_member.id == elder.id:
        raise Invalid("a resident cannot be their own helper", code="helper_is_elder")
    if not helper_member.active or not elder.active:
        raise Conflict("this resident is no longer active", code="member_inactive")
    get_row(session, Member, elder.id, what="member", lock=True)  # one grant at a time per elder
    if active_grant(session, elder_id=elder.id, helper_id=helper_member.id) is not None:
        raise Conflict("this helper is already named", code="helper_exists")
    grant = HelperGrant(
        community_id=elder.community_id, elder_member_id=elder.id, helper_member_id=helper_member.id,
        relation=relation, granted_by_staff_id=principal.staff_id, granted_by_member_id=principal.member_id,
    )
    community_cap = get_community(session, elder.community_id).helper_monthly_coin_cap
    if monthly_coin_cap is not None and monthly_coin_cap > community_cap:
        raise Invalid(
            "the monthly coin cap is above the community's limit for helpers", code="helper_cap_above_community",
            community_cap=community_cap,
        )
    grant.monthly_coin_cap = community_cap if monthly_coin_cap is None else monthly_coin_cap
    session.add(grant)
    session.flush()
    record_audit(
        session, principal=principal, action="helper.grant", target_type="member", target_id=elder.id,
        community_id=elder.community_id,
        after={"grant_id": grant.id, "helper_member_id": helper_member.id, "relation": relation,
               "monthly_coin_cap": grant.monthly_coin_cap},
    )
    return grant


def revoke_helper(session: Session, principal: Principal, grant_id: int) -> HelperGrant:
    """The elder or the desk withdraws a helper; effective for the helper's next action."""
    grant = get_row(session, HelperGrant, grant_id, what="helper", lock=True)
    elder = get_member(session, grant.elder_member_id)
    _may_manage(principal, elder)
    if grant.revoked_at is not None:
        raise Conflict("this helper was already withdrawn", code="helper_revoked")
    grant.revoked_at = ledger.utcnow()
    grant.revoked_by_staff_id, grant.revoked_by_member_id = principal.staff_id, principal.member_id
    session.flush()
    record_audit(
        session, principal=principal, action="helper.revoke", target_type="member", target_id=elder.id,
        community_id=elder.community_id, before={"grant_id": grant.id, "revoked": False},
        after={"grant_id": grant.id, "revoked": True},
    )
    return grant


def list_grants(session: Session, principal: Principal, member_id: int) -> list[HelperGrant]:
    """Everyone who helps ``member_id`` (the elder, or staff of the community), newest first."""
    elder = get_member(session, member_id)
    principal.require_member(elder.id, elder.community_id)
    return list(session.scalars(
        select(HelperGrant).where(HelperGrant.elder_member_id == elder.id).order_by(HelperGrant.id.desc())
    ))


def _month_start(now: dt.datetime) -> dt.datetime:
    """The start of the local calendar month (Asia/Shanghai) of ``now``, as a UTC instant."""
    return midnight_utc(date_of(now).replace(day=1))


def coins_spent_this_month(session: Session, grant: HelperGrant, now: dt.datetime | None = None) -> int:
    since = _month_start(now or ledger.utcnow())
    return session.scalar(
        select(func.coalesce(func.sum(HelperAction.coins), 0)).where(
            HelperAction.grant_id == grant.id, HelperAction.created_at >= since
        )
    ) or 0


def acting_for(session: Session, principal: Principal) -> list[dict]:
    """What a helper may see of the elders they act for: masked name, coins and hours, and how much
    of this month's cap is left. Nothing else of the elder's."""
    if principal.role != Role.RESIDENT:
        raise Forbidden("only residents act as helpers")
    return [
        {
            "grant_id": grant.id,
            "elder_member_id": elder.id,
            "elder_name": mask_name(elder.name),
            "relation": grant.relation,
            "coins": wallets.coins,
            "hours_minutes": wallets.hours_minutes,
            "monthly_coin_cap": cap,
            "coins_left_this_month": left,
        }
        for grant, elder, wallets, cap, left in _elders_of(session, principal.member_id)
    ]


def _elders_of(session: Session, helper_id: int, now: dt.datetime | None = None):
    """(grant, elder, their wallets, the grant's cap, coins left this month) for each live grant of the
    helper whose elder is active, in grant order: a fixed number of reads however many elders."""
    grants = session.scalars(select(HelperGrant).where(
        HelperGrant.helper_member_id == helper_id, HelperGrant.revoked_at.is_(None),
    ).order_by(HelperGrant.id)).all()
    if not grants:
        return []
    elders = {m.id: m for m in session.scalars(
        select(Member).where(Member.id.in_({g.elder_member_id for g in grants}), Member.active.is_(True))
    )}
    wallets = wallets_of(session, elders)
    community_caps = dict(session.execute(
        select(Community.id, Community.helper_monthly_coin_cap).where(Community.id.in_({g.community_id for g in grants}))
    ).all())
    spent = dict(session.execute(
        select(HelperAction.grant_id, func.sum(HelperAction.coins))
        .where(HelperAction.grant_id.in_([g.id for g in grants]),
               HelperAction.created_at >= _month_start(now or ledger.utcnow()))
        .group_by(HelperAction.grant_id)
    ).all())
    rows = []
    for grant in grants:
        elder = elders.get(grant.elder_member_id)
        if elder is None:
            continue
        cap = min(grant.monthly_coin_cap, community_caps[grant.community_id])
        rows.append((grant, elder, wallets[elder.id], cap, max(0, cap - int(spent.get(grant.id) or 0))))
    return rows


def authorise_helper(
    session: Session, principal: Principal, elder: Member, *, coins: int = 0, now: dt.datetime | None = None
) -> HelperGrant:
    """The helper's live grant for ``elder``, locked; refuses a revoked grant or one whose monthly cap
    ``coins`` would pass. Call in the unit of work that posts, then ``record_helper_action``."""
    if principal.role != Role.RESIDENT or principal.member_id is None:
        raise Forbidden("only a named helper acts for a resident")
    grant = live_grant(session, elder_id=elder.id, helper_id=principal.member_id)
    require_within_cap(session, grant, coins, now)
    return grant


def live_grant(session: Session, *, elder_id: int, helper_id: int) -> HelperGrant:
    """The locked live grant of ``helper_id`` for ``elder_id``; a withdrawn or missing one is refused
    (403). The lock queues a helper's concurrent actions for one elder, so each sees the others' coins."""
    grant = active_grant(session, elder_id=elder_id, helper_id=helper_id, lock=True)
    if grant is not None:
        return grant
    revoked = session.scalar(select(HelperGrant.id).where(
        HelperGrant.elder_member_id == elder_id, HelperGrant.helper_member_id == helper_id,
    ).limit(1))
    if revoked is not None:
        raise Forbidden("this helper's authority was withdrawn", code="helper_revoked")
    raise Forbidden("you are not a helper of this resident", code="not_a_helper")


def monthly_cap(session: Session, grant: HelperGrant) -> int:
    """The grant's own cap, never above the community's limit for helpers as it stands today."""
    return min(grant.monthly_coin_cap, get_community(session, grant.community_id).helper_monthly_coin_cap)


def require_within_cap(session: Session, grant: HelperGrant, coins: int, now: dt.datetime | None = None) -> None:
    """Refuse (409) what would pass the monthly coin cap; call with the grant locked."""
    spent, cap = coins_spent_this_month(session, grant, now), monthly_cap(session, grant)
    if coins and spent + coins > cap:
        raise Conflict(
            "this would pass the helper's monthly coin cap", code="helper_cap_exceeded",
            cap=cap, spent=spent, left=max(0, cap - spent), required=coins,
        )


def helped_elders(session: Session, helper: Member) -> list[dict]:
    """At the counter: the residents ``helper`` acts for, with masked names, coins and the cap left."""
    return [
        {"elder_member_id": elder.id, "elder_name": mask_name(elder.name), "relation": grant.relation,
         "coins": wallets.coins, "coins_left_this_month": left}
        for grant, elder, wallets, _cap, left in _elders_of(session, helper.id)
    ]


def record_helper_action(
    session: Session, grant: HelperGrant, *, kind: str, transaction_id: int | None, coins: int = 0, minutes: int = 0
) -> HelperAction:
    action = HelperAction(grant_id=grant.id, kind=kind, transaction_id=transaction_id, coins=coins, minutes=minutes)
    session.add(action)
    session.flush()
    return action

