"""Opening, answering and escalating disputes; every step is audit-logged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import ledger
from ledger import Unit

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..auth.models import Role
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..listing import community_page, given
from ..members.models import Member
from ..members.operations import get_household, get_member, household_wallet, member_wallet
from ..rows import get_row
from .models import (
    DEFAULT_ANSWER_DAYS,
    DEFAULT_WINDOW_DAYS,
    UNRESOLVED,
    Dispute,
    DisputePolicy,
    DisputeStatus,
)

POLICY_FIELDS = ("window_days", "answer_days")


def policy_for(session: Session, community_id: int) -> DisputePolicy:
    """The community's deadlines (defaults when it never set its own)."""
    policy = session.get(DisputePolicy, community_id)
    if policy is None:
        policy = DisputePolicy(
            community_id=community_id, window_days=DEFAULT_WINDOW_DAYS, answer_days=DEFAULT_ANSWER_DAYS
        )
    return policy


def set_policy(session: Session, principal: Principal, community_id: int, changes: dict) -> DisputePolicy:
    principal.require_admin_of(community_id)
    policy = session.get(DisputePolicy, community_id)
    current = policy_for(session, community_id)
    before = {name: getattr(current, name) for name in POLICY_FIELDS}
    if policy is None:
        policy = DisputePolicy(community_id=community_id, **before)
        session.add(policy)
    for name, value in changes.items():
        setattr(policy, name, value)
    session.flush()
    record_audit(
        session, principal=principal, action="dispute_policy.update", target_type="community",
        target_id=community_id, community_id=community_id,
        before=before, after={name: getattr(policy, name) for name in POLICY_FIELDS},
    )
    return policy


def _member_accounts(session: Session, member: Member) -> set[int]:
    accounts = {member_wallet(session, member, unit).id for unit in Unit}
    if member.household_id is not None:
        accounts.add(household_wallet(session, get_household(session, member.household_id)).id)
    return accounts


def open_dispute(
    session: Session,
    principal: Principal,
    *,
    transaction_id: int,
    reason: str,
    member_id: int | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """A resident disputes a line of their own statement (desk staff may open one on their behalf)."""
    now = now or ledger.utcnow()
    if principal.role == Role.RESIDENT:
        member_id = principal.member_id
    elif member_id is None:
        raise Invalid("name the resident whose statement line is disputed", code="member_required")
    member = get_member(session, member_id)
    principal.require_member(member.id, member.community_id)
    if principal.role != Role.RESIDENT:
        principal.require_writer_in(member.community_id)
    tx = session.get(ledger.Transaction, transaction_id)
    if tx is None or not _member_accounts(session, member) & {e.account_id for e in tx.entries}:
        raise NotFound("statement line not found")
    policy = policy_for(session, member.community_id)
    if tx.created_at < now - dt.timedelta(days=policy.window_days):
        raise Conflict(
            f"lines can be disputed within {policy.window_days} days", code="dispute_window_closed",
            window_days=policy.window_days,
        )
    dispute = Dispute(
        community_id=member.community_id, member_id=member.id, transaction_id=tx.id, transaction_kind=tx.kind,
        reason=reason, status=DisputeStatus.OPEN.value, opened_at=now, opened_by_staff_id=principal.staff_id,
        answer_due_at=now + dt.timedelta(days=policy.answer_days),
    )
    try:
        with session.begin_nested():
            session.add(dispute)
            session.flush()
    except IntegrityError:
        raise Conflict("this line is already disputed", code="already_disputed") from None
    record_audit(
        session, principal=principal, action="dispute.open", target_type="dispute", target_id=dispute.id,
        community_id=dispute.community_id,
        after={"transaction_id": tx.id, "kind": tx.kind, "answer_due_at": dispute.answer_due_at},
    )
    return dispute


def get_dispute(session: Session, principal: Principal, dispute_id: int, *, lock: bool = False) -> Dispute:
    dispute = get_row(session, Dispute, dispute_id, what="dispute", lock=lock)
    principal.require_member(dispute.member_id, dispute.community_id)
    return dispute


def list_disputes(
    session: Session, principal: Principal, *, community_id=None, status=None, limit=50, before=None
) -> list[Dispute]:
    """Newest first, keyset-paginated: a resident's own, or the disputes of the caller's community."""
    return community_page(
        session, principal, Dispute, *given((Dispute.status, status)), community_id=community_id,
        own=Dispute.member_id == principal.member_id, limit=limit, before=before,
    )


def resolve_dispute(
    session: Session, principal: Principal, dispute_id: int, *, outcome: str, note: str,
    correct: Callable[[Session, Principal, Dispute, str], int] | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """Answer a dispute: ``keep`` the line with a reason, or ``correct`` it by a reversal.

    Station staff and administrators answer open disputes; once escalated, only an administrator.
    ``correct`` reverses the line through the domain it came from and returns the reversal's id;
    that step spans domains, so it lives in ``service.flows`` (``flows.resolve_dispute``)."""
    dispute = get_dispute(session, principal, dispute_id, lock=True)
    principal.require_writer_in(dispute.community_id)
    if dispute.status not in UNRESOLVED:
        raise Conflict(f"the dispute is already {dispute.status}", code="dispute_resolved", status=dispute.status)
    if principal.role not in (Role.ADMIN, Role.STATION_STAFF):
        raise Forbidden("station staff or an administrator answer disputes")
    if dispute.status == DisputeStatus.ESCALATED.value and principal.role != Role.ADMIN:
        raise Forbidden("an escalated dispute is answered by an administrator", code="escalated")
    before = {"status": dispute.status}
    if outcome == "correct":
        if correct is None:
            raise Conflict("corrections go through flows.resolve_dispute", code="not_correctable_here")
        dispute.correction_transaction_id = correct(session, principal, dispute, note)
        dispute.status = DisputeStatus.CORRECTED.value
    else:
        dispute.status = DisputeStatus.KEPT.value
    dispute.resolved_at, dispute.resolved_by, dispute.resolution_note = now or ledger.utcnow(), principal.staff_id, note
    session.flush()
    record_audit(
        session, principal=principal, action=f"dispute.{outcome}", target_type="dispute", target_id=dispute.id,
        community_id=dispute.community_id, before=before,
        after={"status": dispute.status, "note": note, "correction_transaction_id": dispute.correction_transaction_id},
    )
    return dispute


def escalate_overdue(session: Session, now: dt.datetime) -> int:
    """Nightly: open disputes past their deadline go to the supervisors. Safe to run twice."""
    overdue = session.execute(
        update(Dispute)
        .where(Dispute.status == DisputeStatus.OPEN.value, Dispute.answer_due_at < now)
        .values(status=DisputeStatus.ESCALATED.value, escalated_at=now)
        .returning(Dispute.id, Dispute.community_id)
        .execution_options(synchronize_session=False),
    ).all()
    for dispute_id, community_id in overdue:
        record_audit(
            session, principal=None, action="dispute.escalate", target_type="dispute", target_id=dispute_id,
            community_id=community_id, before={"status": "open"}, after={"status": "escalated"},
        )
    return len(overdue)


def unresolved_for_disclosure(session: Session, community_id: int, as_of: dt.datetime) -> list[Dispute]:
    """Escalated disputes still unanswered at ``as_of``: the monthly disclosure lists them."""
    return list(
        session.scalars(
            select(Dispute)
            .where(
                Dispute.community_id == community_id,
                Dispute.status == DisputeStatus.ESCALATED.value,
                Dispute.escalated_at <= as_of,
            )
            .order_by(Dispute.id)
        )
    )
