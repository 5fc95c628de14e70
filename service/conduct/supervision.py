"""Supervision (村务监督委员会): a supervisor flags an award as disputed; an administrator keeps or
reverses it. Both steps are kept on the flag and appear in the next monthly disclosure.

An award still in its public notice period is held (status ``disputed``) so the nightly run does not
credit it; keeping it puts it back to ``announced``. Reversing goes through the conduct domain's
``reverse_award``, so the award and the ledger change together.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..auth.models import Role
from ..errors import Conflict, Forbidden
from ..listing import community_page
from ..rows import get_row
from ..volunteering.operations import get_service_record, reverse_service_record
from . import operations as conduct
from .models import ConductAward, DisputeFlag, FlagStatus


def _award(session: Session, award_id: int, *, lock: bool = False) -> ConductAward:
    return get_row(session, ConductAward, award_id, what="award", lock=lock)


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
    record_audit(session, principal=principal, action="flag.award", target_type="award", target_id=award.id,
                 community_id=award.community_id, after={"flag_id": flag.id, "reason": reason})
    return flag


def flag_service_record(session: Session, principal: Principal, *, service_record_id: int, reason: str) -> DisputeFlag:
    """A supervisor disputes logged or approved hours; an administrator keeps or reverses them."""
    record = get_service_record(session, principal, service_record_id)
    if principal.role != Role.SUPERVISOR:
        raise Forbidden("only a supervisor of this community flags a service record")
    if record.status not in ("pending", "approved"):
        raise Conflict("the record is already rejected or reversed", code="record_not_flaggable", status=record.status)
    open_flag = session.scalars(
        select(DisputeFlag.id).where(DisputeFlag.service_record_id == record.id,
                                     DisputeFlag.status == FlagStatus.OPEN.value)
    ).first()
    if open_flag is not None:
        raise Conflict("this record already has an open flag", code="record_already_flagged", flag_id=open_flag)
    flag = DisputeFlag(
        community_id=record.community_id, service_record_id=record.id, transaction_id=record.transaction_id,
        reason=reason, flagged_by=principal.staff_id, flagged_at=utcnow(), status=FlagStatus.OPEN.value,
    )
    session.add(flag)
    session.flush()
    record_audit(session, principal=principal, action="flag.service_record", target_type="service_record",
                 target_id=record.id, community_id=record.community_id, after={"flag_id": flag.id, "reason": reason})
    return flag


def get_flag(session: Session, principal: Principal, flag_id: int, *, lock: bool = False) -> DisputeFlag:
    flag = get_row(session, DisputeFlag, flag_id, what="flag", lock=lock)
    principal.require_community(flag.community_id, what="flag")
    return flag


def resolve_flag(session: Session, principal: Principal, flag_id: int, *, decision: str, note: str) -> DisputeFlag:
    flag = get_flag(session, principal, flag_id, lock=True)
    principal.require_admin_of(flag.community_id)
    if flag.status != FlagStatus.OPEN.value:
        raise Conflict("this flag is already resolved", code="flag_already_resolved", status=flag.status)
    if flag.service_record_id is not None:
        if decision == "reverse":
            record = reverse_service_record(session, principal, flag.service_record_id, reason=note)
            flag.reversal_transaction_id = record.reversal_transaction_id
            flag.status = FlagStatus.REVERSED.value
        else:
            flag.status = FlagStatus.KEPT.value
    elif decision == "reverse":
        award = conduct.reverse_award(session, principal, flag.award_id, note)
        flag.reversal_transaction_id = award.reversal_transaction_id
        flag.status = FlagStatus.REVERSED.value
    else:
        award = _award(session, flag.award_id, lock=True)
        if award.status == "disputed":
            award.status = "announced"  # the nightly run credits it when its notice period is over
        flag.status = FlagStatus.KEPT.value
    flag.resolved_by, flag.resolved_at, flag.resolution_note = principal.staff_id, utcnow(), note
    session.flush()
    record_audit(session, principal=principal, action="flag.resolve", target_type="flag", target_id=flag.id,
                 community_id=flag.community_id, before={"status": FlagStatus.OPEN.value},
                 after={"status": flag.status, "note": note})
    return flag


def list_flags(session: Session, principal: Principal, *, status=None, **page):
    return community_page(session, principal, DisputeFlag, *([DisputeFlag.status == status] if status else []), **page)
