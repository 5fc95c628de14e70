"""Steps that span domains, in one place (as Dispatch keeps them in ``flows.py``).

A domain's operations only call the domains beneath it; when one business step has to touch a
domain above (a new community gets conduct's default indicators), the step lives here and the
API, the pages, the demo and the tests call it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .auth.access import Principal
from .bookkeeping.operations import reverse_adjustment
from .community.models import Community
from .community.operations import create_community
from .conduct.indicators import seed_default_indicators
from .conduct.models import ConductAward
from .conduct.operations import reverse_award
from .disputes import operations as disputes
from .disputes.models import Dispute
from .errors import Conflict
from .volunteering.models import ServiceRecord
from .volunteering.operations import reverse_service_record


def open_community(session: Session, *, code: str, name: str, **settings) -> Community:
    """Create a community with its issuance and expiry accounts, and seed the field's default
    indicator categories and example indicators."""
    community = create_community(session, code=code, name=name, **settings)
    seed_default_indicators(session, community.id)
    return community


def correct_disputed_line(session: Session, principal: Principal, dispute: Dispute, note: str) -> int:
    """Reverse a disputed statement line through the record it came from (a service record, a conduct
    award, an adjustment); the reversal transaction's id. Other lines are corrected where they were
    made (a refund at the counter, a new posting at the desk), then the dispute is kept with a note."""
    tx_id, reason = dispute.transaction_id, f"异议 dispute #{dispute.id}: {note}"
    if dispute.transaction_kind == "volunteer_hours":
        record = session.scalars(select(ServiceRecord).where(ServiceRecord.transaction_id == tx_id)).first()
        if record is not None:
            return reverse_service_record(session, principal, record.id, reason=reason).reversal_transaction_id
    elif dispute.transaction_kind in ("conduct_award", "conduct_deduction"):
        award = session.scalars(select(ConductAward).where(ConductAward.transaction_id == tx_id)).first()
        if award is not None:
            return reverse_award(session, principal, award.id, reason).reversal_transaction_id
    elif dispute.transaction_kind in ("adjustment", "opening_balance"):
        posted = reverse_adjustment(
            session, principal, transaction_id=tx_id, reason=reason, idempotency_key=f"dispute:{dispute.id}:correct"
        )
        return posted.transaction_id
    raise Conflict(
        "this kind of line is corrected where it was made (a refund at the counter, a new posting at the "
        "desk); then keep the dispute with a note saying what was done",
        code="not_correctable_here", kind=dispute.transaction_kind,
    )


def resolve_dispute(session: Session, principal: Principal, dispute_id: int, *, outcome: str, note: str) -> Dispute:
    """Answer a dispute; a correction reverses the line through its own domain."""
    return disputes.resolve_dispute(
        session, principal, dispute_id, outcome=outcome, note=note, correct=correct_disputed_line
    )
