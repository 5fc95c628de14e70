"""Steps that span domains, in one place (as Dispatch keeps them in ``flows.py``).

A domain's operations only call the domains beneath it; when one business step has to touch a
domain above (a new community gets conduct's default indicators), the step lives here and the
API, the pages, the demo and the tests call it. So do reads that join a domain to those above it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger

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
from .market.models import Redemption, Refund
from .members.models import Household, Member
from .members.operations import household_wallet
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


# --- reads across domains ---------------------------------------------------------------------------
# The household wallet (members) names who earned or spent each line: conduct awards and market
# baskets, two domains above members, so the read lives here and the household API and page call it.


@dataclass
class WalletView:
    balance: int
    lines: list[dict]
    next_cursor: int | None
    by_member: list[dict] = field(default_factory=list)


def _who_by_transaction(session: Session, transaction_ids: set[int]) -> dict[int, int]:
    """The resident behind each household-wallet posting: who earned the award, who paid the basket."""
    if not transaction_ids:
        return {}
    who: dict[int, int] = {}
    for tx, earned_by, member in session.execute(
        select(ConductAward.transaction_id, ConductAward.earned_by_member_id, ConductAward.member_id)
        .where(ConductAward.transaction_id.in_(transaction_ids))
    ):
        if earned_by or member:
            who[tx] = earned_by or member
    for tx, member in session.execute(
        select(Redemption.transaction_id, Redemption.member_id).where(Redemption.transaction_id.in_(transaction_ids))
    ):
        who[tx] = member
    for tx, member in session.execute(
        select(Refund.transaction_id, Redemption.member_id).join(Redemption, Redemption.id == Refund.redemption_id)
        .where(Refund.transaction_id.in_(transaction_ids))
    ):
        who[tx] = member
    return who


def _lines_with_who(session: Session, rows) -> list[dict]:
    """Household wallet entries with the resident behind each (a reversal: the one behind what it reverses)."""
    originals = {r.reverses_id for r in rows if r.reverses_id}
    who = _who_by_transaction(session, {r.transaction_id for r in rows} | originals)
    names = {}
    ids = set(who.values())
    if ids:
        names = dict(session.execute(select(Member.id, Member.name).where(Member.id.in_(ids))).all())
    lines = []
    for r in rows:
        member_id = who.get(r.transaction_id) or (who.get(r.reverses_id) if r.reverses_id else None)
        lines.append({
            "entry_id": r.entry_id, "transaction_id": r.transaction_id, "kind": r.kind, "amount": r.amount,
            "balance_after": r.balance_after, "created_at": r.created_at, "memo": r.memo,
            "reverses_id": r.reverses_id, "member_id": member_id, "member_name": names.get(member_id),
        })
    return lines


def household_wallet_view(session: Session, household: Household, *, limit: int = 50,
                          before: int | None = None) -> WalletView:
    """The household wallet's balance, its lines newest first (who earned or spent each), and per
    resident what they brought in and took out over the whole history."""
    wallet = household_wallet(session, household)
    page = ledger.statement(session, wallet.id, limit=limit, before=before)
    rows = [_Row(line.entry_id, line.transaction_id, line.kind, line.amount, line.balance_after,
                 line.created_at, line.memo, line.reverses_id) for line in page.lines]
    every = [
        _Row(e, t, k, a, None, None, None, rv)
        for e, t, k, a, rv in session.execute(
            select(ledger.Entry.id, ledger.Entry.transaction_id, ledger.Transaction.kind, ledger.Entry.amount,
                   ledger.Transaction.reverses_id)
            .join(ledger.Transaction, ledger.Transaction.id == ledger.Entry.transaction_id)
            .where(ledger.Entry.account_id == wallet.id)
        ).all()
    ]
    totals: dict[int | None, dict] = defaultdict(lambda: {"earned": 0, "spent": 0})
    for line in _lines_with_who(session, every):
        bucket = totals[line["member_id"]]
        bucket["earned" if line["amount"] > 0 else "spent"] += abs(line["amount"])
    names = dict(session.execute(
        select(Member.id, Member.name).where(Member.id.in_([m for m in totals if m]))
    ).all()) if any(totals) else {}
    by_member = [
        {"member_id": m, "member_name": names.get(m), "earned": t["earned"], "spent": t["spent"]}
        for m, t in sorted(totals.items(), key=lambda item: (item[0] is None, item[0] or 0))
    ]
    return WalletView(ledger.balance(session, wallet.id), _lines_with_who(session, rows), page.next_cursor, by_member)


@dataclass
class _Row:
    entry_id: int
    transaction_id: int
    kind: str
    amount: int
    balance_after: int | None
    created_at: object
    memo: str | None
    reverses_id: int | None
