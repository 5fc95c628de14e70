"""A cashier's shift (班次) at the counter: open it, work, close it with the counts (交班).

Nothing is counted when a shift opens: coins are ledger entries, not cash in a drawer, so there is no
float. What a cashier can count at the end is paper: the basket receipts (小票) and refund slips kept
in the tray. Closing records what the cashier declares beside what the books say (baskets, refunds,
coins), so a missing or extra slip shows as a difference on the close-out sheet.

A basket or refund belongs to the shift when its cashier made it at the shift's supermarket while the
shift was open (``opened_at <= created_at < closed_at``); a cashier has at most one open shift, so the
close-out covers exactly that shift. The counter page asks for an open shift before a basket; the API
still accepts baskets without one (integrations, pick-ups), which then belong to no shift and show in
the period close-out (``/supermarkets/<id>/close-out``) only.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..audit.operations import record_audit
from ..auth.access import Principal
from ..auth.models import Role, Staff
from ..errors import Conflict, Forbidden, NotFound
from ..listing import keyset_page
from ..rows import get_row
from .models import Shift
from .reports import sheet
from .scope import get_supermarket, require_reader, scope_to_supermarkets, supermarket_for

SHIFT_ROLES = (Role.CASHIER, Role.ADMIN)


def current_shift(session: Session, principal: Principal, *, supermarket_id: int | None = None) -> Shift | None:
    """The calling staff member's open shift (at ``supermarket_id`` if named), or None."""
    if principal.staff_id is None:
        return None
    query = select(Shift).where(Shift.staff_id == principal.staff_id, Shift.closed_at.is_(None))
    if supermarket_id is not None:
        query = query.where(Shift.supermarket_id == supermarket_id)
    return session.scalars(query.order_by(Shift.id.desc())).first()


def open_shift(session: Session, principal: Principal, *, supermarket_id: int | None = None) -> Shift:
    """Open the caller's shift at their supermarket; one open shift per person at a time."""
    if principal.role not in SHIFT_ROLES or principal.staff_id is None:
        raise Forbidden("only cashiers and administrators work a shift")
    supermarket = supermarket_for(session, principal, supermarket_id)
    if not supermarket.active:
        raise Conflict("this supermarket is closed", code="supermarket_inactive")
    get_row(session, Staff, principal.staff_id, what="staff", lock=True)  # one opening at a time per person
    already = current_shift(session, principal)
    if already is not None:
        raise Conflict("you have a shift open already: close it first", code="shift_already_open",
                       shift_id=already.id, supermarket_id=already.supermarket_id)
    shift = Shift(supermarket_id=supermarket.id, community_id=supermarket.community_id,
                  staff_id=principal.staff_id, opened_at=utcnow(), note="")
    session.add(shift)
    session.flush()
    return shift


def get_shift(session: Session, principal: Principal, shift_id: int) -> Shift:
    """A shift the caller may read: a cashier their own, administrators and supervisors their community's."""
    shift = get_row(session, Shift, shift_id, what="shift")
    require_reader(principal, shift.supermarket_id, shift.community_id, what="shift")
    if principal.role == Role.CASHIER and shift.staff_id != principal.staff_id:
        raise NotFound("shift not found")
    return shift


def list_shifts(
    session: Session, principal: Principal, *, supermarket_id: int | None = None, cashier_id: int | None = None,
    limit: int = 50, before: int | None = None,
) -> list[Shift]:
    """Newest first, keyset-paginated by id; a cashier sees their own shifts."""
    query = scope_to_supermarkets(select(Shift), Shift, principal, supermarket_id, session)
    if principal.role == Role.CASHIER:
        cashier_id = principal.staff_id
    if cashier_id is not None:
        query = query.where(Shift.staff_id == cashier_id)
    return keyset_page(session, query, Shift, limit=limit, before=before)


def close_shift(
    session: Session, principal: Principal, shift_id: int, *, declared_baskets: int, declared_refunds: int,
    note: str = "",
) -> Shift:
    """Close the shift with the paper the cashier counted; the books' counts are kept beside them.
    Closing again with the same counts answers the closed shift (a double tap); other counts are refused.
    An administrator may close a cashier's forgotten shift (audit-logged)."""
    shift = get_row(session, Shift, shift_id, what="shift", lock=True)
    supermarket = get_supermarket(session, shift.supermarket_id)
    if principal.role == Role.CASHIER:
        if shift.staff_id != principal.staff_id:
            raise NotFound("shift not found")
    elif principal.role == Role.ADMIN:
        principal.require_supermarket(supermarket.id, supermarket.community_id)
    else:
        raise Forbidden("only the cashier or an administrator closes a shift")
    if shift.closed_at is not None:
        if (shift.declared_baskets, shift.declared_refunds) == (declared_baskets, declared_refunds):
            return shift
        raise Conflict("this shift is closed already", code="shift_closed")
    now = utcnow()
    books = sheet(session, supermarket, session.get(Staff, shift.staff_id), shift.opened_at, now)
    shift.closed_at, shift.closed_by_staff_id = now, principal.staff_id
    shift.declared_baskets, shift.declared_refunds, shift.note = declared_baskets, declared_refunds, note
    shift.booked_baskets, shift.booked_refunds = books["redemption_count"], books["refund_count"]
    shift.booked_coins_taken, shift.booked_coins_refunded = books["coins_taken"], books["coins_refunded"]
    session.flush()
    if shift.staff_id != principal.staff_id:
        record_audit(
            session, principal=principal, action="shift.close", target_type="shift", target_id=shift.id,
            community_id=shift.community_id, before={"closed": False},
            after={"closed": True, "declared_baskets": declared_baskets, "declared_refunds": declared_refunds},
        )
    return shift


def shift_view(shift: Shift) -> dict:
    """What the API and the pages show of a shift, with the differences once it is closed."""
    closed = shift.closed_at is not None
    return {
        "id": shift.id, "number": shift.number, "supermarket_id": shift.supermarket_id, "cashier_id": shift.staff_id,
        "opened_at": shift.opened_at, "closed_at": shift.closed_at, "open": not closed,
        "declared_baskets": shift.declared_baskets, "declared_refunds": shift.declared_refunds,
        "booked_baskets": shift.booked_baskets, "booked_refunds": shift.booked_refunds,
        "booked_coins_taken": shift.booked_coins_taken, "booked_coins_refunded": shift.booked_coins_refunded,
        "basket_difference": shift.declared_baskets - shift.booked_baskets if closed else None,
        "refund_difference": shift.declared_refunds - shift.booked_refunds if closed else None,
        "note": shift.note,
    }


def shift_close_out(session: Session, principal: Principal, shift_id: int) -> dict:
    """The close-out sheet of one shift: exactly its baskets and refunds, from opening to closing (or
    to now while it is open), with the declared and booked counts."""
    shift = get_shift(session, principal, shift_id)
    supermarket = get_supermarket(session, shift.supermarket_id)
    result = sheet(session, supermarket, session.get(Staff, shift.staff_id), shift.opened_at, shift.closed_at)
    return {**result, "shift": shift_view(shift)}
