"""Supervision (村务监督委员会): a supervisor flags an award as disputed; an administrator keeps or
reverses it. Both steps are kept on the flag and appear in the next monthly disclosure.

An award still in its public notice period is held (status ``disputed``) so the nightly run does not
credit it; keeping it puts it back to ``announced``. Reversing goes through the conduct domain's
``reverse_award``, so the award and the ledger change together.
"""

from __future__ import annotations

import importlib

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..auth.access import Principal
from ..auth.models import Role
from ..errors import Conflict, Forbidden, NotFound
from .listing import community_page
from .models import DisputeFlag, FlagStatus


def _conduct():
    """The conduct domain (models, operations), or NotFound when it is not installed."""
    try:
        return importlib.import_module("service.conduct.models"), importlib.import_module("service.conduct.operations")
    except ModuleNotFoundError:
        raise NotFound("awards are not available", code="conduct_not_installed") from None


def _award(session: Session, award_id: int, *, lock: bool = False):
    models, _ = _conduct()
    if not inspect(session.connection()).has_table(models.ConductAward.__tablename__):
        raise NotFound("award not found")
    query = select(models.ConductAward).where(models.ConductAward.id == award_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    award = session.scalars(query).first()
    if award is None:
        raise NotFound("award not found")
    return award


def flag_award(session: Session, principal: Principal, *, award_id: int, reason: str) -> DisputeFlag:
    award = _award(session, award_id, lock=True)
    principal.require_community(award.community_id, what="award")
    if principal.role != Role.SUPERVISOR:
        raise Forbidden("only a supervisor of this community flags an award")
    if award.status == "reversed":
        raise Conflict("the award is already reversed", code="award_already_reversed")
    open_flag = session.scalars(
        select(DisputeFlag.id).where(DisputeFlag.award_id == award.id, DisputeFlag.status == FlagStatus.OPEN.value)
    ).first()
    if open_flag is not None:
        raise Conflict("this award already has an open flag", code="award_already_flagged", flag_id=open_flag)
    if award.status == "announced":
        award.status = "disputed"  # held: not credited while disputed
    flag = DisputeFlag(
        community_id=award.community_id,
        award_id=award.id,
        transaction_id=award.transaction_id,
        reason=reason,
        flagged_by=principal.staff_id,
        flagged_at=utcnow(),
        status=FlagStatus.OPEN.value,
    )
    session.add(flag)
    session.flush()
    return flag


def get_flag(session: Session, principal: Principal, flag_id: int, *, lock: bool = False) -> DisputeFlag:
    query = select(DisputeFlag).where(DisputeFlag.id == flag_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    flag = session.scalars(query).first()
    if flag is None:
        raise NotFound("flag not found")
    principal.require_community(flag.community_id, what="flag")
    return flag


def resolve_flag(session: Session, principal: Principal, flag_id: int, *, decision: str, note: str) -> DisputeFlag:
    flag = get_flag(session, principal, flag_id, lock=True)
    principal.require_admin_of(flag.community_id)
    if flag.status != FlagStatus.OPEN.value:
        raise Conflict("this flag is already resolved", code="flag_already_resolved", status=flag.status)
    if decision == "reverse":
        _, operations = _conduct()
        award = operations.reverse_award(session, principal, flag.award_id, note)
        flag.reversal_transaction_id = award.reversal_transaction_id
        flag.status = FlagStatus.REVERSED.value
    else:
        award = _award(session, flag.award_id, lock=True)
        if award.status == "disputed":
            award.status = "announced"  # the nightly run credits it when its notice period is over
        flag.status = FlagStatus.KEPT.value
    flag.resolved_by, flag.resolved_at, flag.resolution_note = principal.staff_id, utcnow(), note
    session.flush()
    return flag


def list_flags(session: Session, principal: Principal, *, status=None, **page):
    return community_page(session, principal, DisputeFlag, *([DisputeFlag.status == status] if status else []), **page)
