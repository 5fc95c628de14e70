"""Reserving, picking up, cancelling and lapsing reservations; coins and stock move only by
recorded postings and stock movements (reasons ``reservation`` and ``release``)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import AccountType, Unit

from ..auth.access import Principal
from ..auth.models import Role
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..market import stock
from ..market.counter import redeem
from ..market.lines import problem, refuse_duplicates, resolve_products
from ..market.models import Product
from ..market.scope import get_supermarket
from ..members.models import Member
from ..members.operations import get_member, member_wallet
from ..rows import get_row
from .models import DEFAULT_HOLD_DAYS, Reservation, ReservationLine, ReservationStatus

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L: read aloud or typed at the counter


def new_code() -> str:
    return "R" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))  # ~49 bits, one use


def hold_account(session: Session, member: Member) -> ledger.Account:
    """The member's own hold account: coins set aside for reservations (tracked, never negative)."""
    return ledger.open_account(
        session, type=AccountType.RESERVATION_HOLD, unit=Unit.COIN, community_id=member.community_id,
        owner_id=member.id,
    )


def held_coins(session: Session, member: Member) -> int:
    return ledger.balance(session, hold_account(session, member).id)


def lines_of(session: Session, reservation: Reservation) -> list[ReservationLine]:
    return lines_for(session, [reservation])[reservation.id]


def lines_for(session: Session, reservations: list[Reservation]) -> dict[int, list[ReservationLine]]:
    """The lines of each reservation (by id), in one read for a whole list."""
    lines: dict[int, list[ReservationLine]] = {r.id: [] for r in reservations}
    if lines:
        for line in session.scalars(
            select(ReservationLine).where(ReservationLine.reservation_id.in_(list(lines))).order_by(ReservationLine.id)
        ):
            lines[line.reservation_id].append(line)
    return lines


def reserve(
    session: Session, principal: Principal, *, supermarket_id: int, lines: list[dict],
    now: dt.datetime | None = None, hold_days: int = DEFAULT_HOLD_DAYS,
) -> Reservation:
    """A resident reserves goods: stock set aside and coins held, all or nothing."""
    if principal.role != Role.RESIDENT:
        raise Forbidden("residents reserve their own goods")
    now = now or ledger.utcnow()
    member = get_member(session, principal.member_id)
    if not member.active:
        raise Invalid("this resident's card is deactivated", code="member_inactive")
    supermarket = get_supermarket(session, supermarket_id)
    if supermarket.community_id != member.community_id or not supermarket.active:
        raise NotFound("supermarket not found")
    refuse_duplicates(lines)
    resolved = resolve_products(session, supermarket.id, lines)
    problems = [found for _product, found in resolved if found]
    if problems:
        raise Invalid("some lines cannot be reserved", code="reservation_refused", lines=problems)
    products: list[Product] = [product for product, _ in resolved]
    _refuse_unsold(products, lines, [product.id for product, line in zip(products, lines, strict=True)
                                     if product.active and product.stock >= line["quantity"]])
    reservation = Reservation(
        code=new_code(), community_id=member.community_id, supermarket_id=supermarket.id, member_id=member.id,
        status=ReservationStatus.HELD.value, total=0, deadline=now + dt.timedelta(days=hold_days), created_at=now,
    )
    session.add(reservation)
    session.flush()
    # Coins first, then stock (the lock order of ``market.counter``): the prices read here are the
    # ones charged, and the stock is taken only while the products still have them.
    total = sum(product.price * line["quantity"] for product, line in zip(products, lines, strict=True))
    session.add_all(
        ReservationLine(reservation_id=reservation.id, product_id=product.id, name=product.name,
                        quantity=line["quantity"], unit_price=product.price)
        for product, line in zip(products, lines, strict=True)
    )
    wallet, hold = member_wallet(session, member, Unit.COIN), hold_account(session, member)
    posted = ledger.post(
        session,
        lines=[ledger.Line(wallet.id, -total), ledger.Line(hold.id, total)],
        idempotency_key=f"reservation:{reservation.id}:hold",
        kind="reservation_hold",
        community_id=member.community_id,
        location=f"supermarket:{supermarket.id}",
        details={"description": f"{supermarket.name} 预约 reservation {reservation.code}",
                 "reservation_id": reservation.id},
    )
    reservation.total, reservation.hold_transaction_id = total, posted.transaction_id
    wanted = [{"product_id": product.id, "quantity": line["quantity"], "unit_price": product.price}
              for product, line in zip(products, lines, strict=True)]
    taken = stock.take(session, supermarket.id, wanted)  # one UPDATE, id order
    _refuse_unsold(products, lines, [row.id for row in taken])
    stock.record_movements(
        session, supermarket_id=supermarket.id, reason="reservation", at=now,
        moved=[(row.id, -row.quantity, row.stock) for row in taken],
    )
    session.flush()
    return reservation


def _refuse_unsold(products: list[Product], lines: list[dict], sellable: list[int]) -> None:
    """Refuse the reservation (409) naming every line whose product is not in ``sellable``."""
    refused = [
        problem(index, line, "out_of_stock", "not enough in stock or not on sale", product, available=product.stock)
        for index, (product, line) in enumerate(zip(products, lines, strict=True)) if product.id not in sellable
    ]
    if refused:
        raise Conflict("some lines cannot be reserved", code="reservation_refused", lines=refused)


def _release(session: Session, reservation: Reservation, status: ReservationStatus, now: dt.datetime) -> None:
    """Coins back from the hold to the wallet and stock back on the shelf: the reservation closes."""
    member = get_member(session, reservation.member_id)
    wallet, hold = member_wallet(session, member, Unit.COIN), hold_account(session, member)
    posted = ledger.post(
        session,
        lines=[ledger.Line(hold.id, -reservation.total), ledger.Line(wallet.id, reservation.total)],
        idempotency_key=f"reservation:{reservation.id}:release",
        kind="reservation_release",
        community_id=reservation.community_id,
        location=f"supermarket:{reservation.supermarket_id}",
        details={"description": f"预约释放 reservation {reservation.code} {status.value}",
                 "reservation_id": reservation.id, "status": status.value},
    )
    moved = []
    for line in sorted(lines_of(session, reservation), key=lambda ln: ln.product_id):
        moved.append((line.product_id, line.quantity, stock.put(session, line.product_id, line.quantity)))
    stock.record_movements(session, supermarket_id=reservation.supermarket_id, reason="release", at=now, moved=moved)
    reservation.status, reservation.closed_at = status.value, now
    reservation.release_transaction_id = posted.transaction_id
    session.flush()


def _locked_by_code(session: Session, code: str) -> Reservation:
    query = select(Reservation).where(Reservation.code == code).with_for_update().execution_options(
        populate_existing=True
    )
    reservation = session.scalars(query).first()
    if reservation is None:
        raise NotFound("reservation not found")
    return reservation


def _still_held(reservation: Reservation, now: dt.datetime) -> None:
    if reservation.status != ReservationStatus.HELD.value:
        raise Conflict(f"the reservation is {reservation.status}", code="reservation_closed", status=reservation.status)
    if reservation.deadline < now:
        raise Conflict("the reservation was not picked up in time", code="reservation_lapsed")


def pick_up(session: Session, principal: Principal, *, code: str, now: dt.datetime | None = None):
    """The cashier scans the code: the hold is released and the goods redeemed as an ordinary basket,
    in this one unit of work. Returns (reservation, redemption)."""
    now = now or ledger.utcnow()
    reservation = _locked_by_code(session, code.strip().upper())
    principal.require_supermarket(reservation.supermarket_id, reservation.community_id)
    _still_held(reservation, now)
    _release(session, reservation, ReservationStatus.PICKED_UP, now)
    redemption = redeem(
        session, principal, supermarket_id=reservation.supermarket_id, member_id=reservation.member_id,
        lines=[{"product_id": ln.product_id, "quantity": ln.quantity} for ln in lines_of(session, reservation)],
        idempotency_key=f"reservation:{reservation.id}:pickup", note=f"预约 {reservation.code}",
    )
    reservation.redemption_id = redemption.id
    session.flush()
    return reservation, redemption


def cancel(session: Session, principal: Principal, reservation_id: int, now: dt.datetime | None = None) -> Reservation:
    now = now or ledger.utcnow()
    reservation = get_row(session, Reservation, reservation_id, what="reservation", lock=True)
    if principal.role != Role.RESIDENT or principal.member_id != reservation.member_id:
        raise NotFound("reservation not found")
    if reservation.status != ReservationStatus.HELD.value:
        raise Conflict(f"the reservation is {reservation.status}", code="reservation_closed", status=reservation.status)
    _release(session, reservation, ReservationStatus.CANCELLED, now)
    return reservation


def lapse_due(session: Session, now: dt.datetime, *, member_id: int | None = None) -> int:
    """Reservations past their deadline go back (nightly, and whenever their owner looks). Each is
    locked and re-checked, so a lapse racing a pickup resolves exactly once."""
    query = select(Reservation.id).where(
        Reservation.status == ReservationStatus.HELD.value, Reservation.deadline < now
    ).order_by(Reservation.id)
    if member_id is not None:
        query = query.where(Reservation.member_id == member_id)
    lapsed = 0
    for reservation_id in session.scalars(query).all():
        reservation = get_row(session, Reservation, reservation_id, what="reservation", lock=True)
        if reservation.status == ReservationStatus.HELD.value and reservation.deadline < now:
            _release(session, reservation, ReservationStatus.LAPSED, now)
            lapsed += 1
    return lapsed


def find_for_counter(session: Session, principal: Principal, code: str) -> Reservation:
    reservation = session.scalars(select(Reservation).where(Reservation.code == code.strip().upper())).first()
    if reservation is None:
        raise NotFound("reservation not found")
    principal.require_supermarket(reservation.supermarket_id, reservation.community_id)
    return reservation


def list_reservations(session: Session, principal: Principal, *, limit: int = 50, before: int | None = None):
    """A resident's own; a cashier's supermarket's; an administrator's community's; newest first."""
    query = select(Reservation).order_by(Reservation.id.desc()).limit(limit)
    if principal.role == Role.RESIDENT:
        query = query.where(Reservation.member_id == principal.member_id)
    elif principal.role == Role.CASHIER:
        query = query.where(Reservation.supermarket_id == principal.supermarket_id)
    else:
        community_id = principal.listing_community(None)
        if community_id is not None:
            query = query.where(Reservation.community_id == community_id)
    if before:
        query = query.where(Reservation.id < before)
    return list(session.scalars(query))
