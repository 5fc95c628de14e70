"""Spending time-bank hours on providers' services and giving hours to family.

Neither lowers lifetime volunteer hours: their ledger kinds (``service_redemption``,
``hour_transfer``) are not in ``members.stars.LIFETIME_HOUR_KINDS``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import AccountType, Unit

from ..auth.access import Principal
from ..auth.models import Role
from ..community.operations import get_community
from ..errors import Conflict, Forbidden, Invalid
from ..listing import community_page, given
from ..localtime import today as local_today
from ..members.lifecycle import require_active
from ..members.operations import get_member, member_wallet
from ..proxies.operations import active_grant, authorise_helper, record_helper_action
from ..rows import get_row
from .family import RELATIONS, check_family  # noqa: F401 (RELATIONS re-exported)
from .models import HourTransfer, ServiceProvider, ServiceRedemption, TimebankService


def provider_account(session: Session, provider: ServiceProvider) -> ledger.Account:
    return ledger.open_account(
        session, type=AccountType.SERVICE_PROVIDER, unit=Unit.HOUR,
        community_id=provider.community_id, owner_id=provider.id,
    )


# --- providers and services ---------------------------------------------------------------


def create_provider(session: Session, principal: Principal, *, community_id: int, name: str, **fields) -> ServiceProvider:
    principal.require_admin_of(community_id)
    get_community(session, community_id)
    provider = ServiceProvider(community_id=community_id, name=name, **fields)
    session.add(provider)
    session.flush()
    provider_account(session, provider)
    return provider


def get_provider(session: Session, principal: Principal, provider_id: int) -> ServiceProvider:
    provider = get_row(session, ServiceProvider, provider_id, what="service provider")
    principal.require_community(provider.community_id, what="service provider")
    return provider


def list_providers(session: Session, principal: Principal, community_id: int | None = None):
    community_id = principal.listing_community(community_id)
    query = select(ServiceProvider).order_by(ServiceProvider.id)
    if community_id is not None:
        query = query.where(ServiceProvider.community_id == community_id)
    return session.scalars(query).all()


def provider_view(session: Session, provider: ServiceProvider) -> dict:
    return {
        "id": provider.id, "community_id": provider.community_id, "name": provider.name,
        "contact": provider.contact, "description": provider.description, "active": provider.active,
        "hours_minutes": provider_account(session, provider).balance,
    }


def update_provider(session: Session, principal: Principal, provider_id: int, changes: dict) -> ServiceProvider:
    provider = get_provider(session, principal, provider_id)
    principal.require_admin_of(provider.community_id)
    for key in ("name", "contact", "description", "active"):
        if key in changes:
            setattr(provider, key, changes[key])
    session.flush()
    return provider


def create_service(session: Session, principal: Principal, *, provider_id: int, name: str, minutes: int, **fields) -> TimebankService:
    provider = get_provider(session, principal, provider_id)
    principal.require_admin_of(provider.community_id)
    service = TimebankService(
        community_id=provider.community_id, provider_id=provider.id, name=name, minutes=minutes, **fields
    )
    session.add(service)
    session.flush()
    return service


def get_service(session: Session, principal: Principal, service_id: int) -> TimebankService:
    service = get_row(session, TimebankService, service_id, what="service")
    principal.require_community(service.community_id, what="service")
    return service


def list_services(session: Session, principal: Principal, *, community_id=None, provider_id=None, active=None):
    community_id = principal.listing_community(community_id)
    query = select(TimebankService).order_by(TimebankService.id)
    for column, value in (
        (TimebankService.community_id, community_id),
        (TimebankService.provider_id, provider_id),
        (TimebankService.active, active),
    ):
        if value is not None:
            query = query.where(column == value)
    return session.scalars(query).all()


def update_service(session: Session, principal: Principal, service_id: int, changes: dict) -> TimebankService:
    """Change a service; past redemptions keep the price they were paid at."""
    service = get_service(session, principal, service_id)
    principal.require_admin_of(service.community_id)
    for key in ("name", "name_en", "category", "minutes", "description", "active"):
        if key in changes:
            setattr(service, key, changes[key])
    session.flush()
    return service


# --- spending -----------------------------------------------------------------------------


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def redeem_service(
    session: Session,
    principal: Principal,
    *,
    member_id: int,
    service_id: int,
    quantity: int = 1,
    note: str = "",
    station_id: int | None = None,
) -> ServiceRedemption:
    """Pay a provider's service from the member's time bank, at the price in force."""
    service = get_service(session, principal, service_id)
    member = get_member(session, member_id)
    principal.require_writer_in(member.community_id)
    if principal.role not in (Role.ADMIN, Role.STATION_STAFF):
        raise Forbidden("only station staff and administrators record service redemptions")
    require_active(member)
    if member.community_id != service.community_id:
        raise Invalid("the service is offered in another community", code="service_other_community")
    provider = session.get(ServiceProvider, service.provider_id)
    if not service.active or not provider.active:
        raise Invalid("the service is not offered at present", code="service_inactive")
    community = get_community(session, member.community_id)
    if community.min_spend_age:
        if member.birth_date is None:
            raise Invalid("the resident's birth date is needed to check the minimum age", code="birth_date_unknown")
        age = age_on(member.birth_date, local_today())
        if age < community.min_spend_age:
            raise Invalid(
                f"time-bank hours can be spent from age {community.min_spend_age}",
                code="below_min_spend_age", age=age, min_age=community.min_spend_age,
            )
    if principal.role == Role.STATION_STAFF:
        station_id = principal.station_id
    minutes = service.minutes * quantity
    redemption = ServiceRedemption(
        community_id=member.community_id, member_id=member.id, service_id=service.id, provider_id=provider.id,
        service_name=service.name, quantity=quantity, minutes=minutes, note=note or "",
        recorded_by=principal.staff_id, station_id=station_id,
    )
    session.add(redemption)
    session.flush()
    posted = ledger.post(
        session,
        lines=[
            ledger.Line(member_wallet(session, member, Unit.HOUR).id, -minutes),
            ledger.Line(provider_account(session, provider).id, minutes),
        ],
        idempotency_key=f"service-redemption:{redemption.id}",
        kind="service_redemption",
        community_id=member.community_id,
        memo=note or service.name,
        actor_id=principal.staff_id,
        location=f"station:{station_id}" if station_id else None,
        details={
            "description": f"{service.name} × {quantity} · {provider.name}",
            "service_redemption_id": redemption.id,
            "service_id": service.id,
            "provider_id": provider.id,
            "minutes_each": service.minutes,
            "quantity": quantity,
        },
    )
    redemption.transaction_id = posted.transaction_id
    session.flush()
    return redemption


def get_redemption(session: Session, principal: Principal, redemption_id: int) -> ServiceRedemption:
    redemption = get_row(session, ServiceRedemption, redemption_id, what="service redemption")
    principal.require_member(redemption.member_id, redemption.community_id)
    return redemption


def list_redemptions(
    session: Session, principal: Principal, *, community_id=None, member_id=None, provider_id=None, limit=50,
    before=None,
):
    filters = given((ServiceRedemption.member_id, member_id), (ServiceRedemption.provider_id, provider_id))
    own = ServiceRedemption.member_id == principal.member_id
    return community_page(
        session, principal, ServiceRedemption, *filters, community_id=community_id, own=own, limit=limit,
        before=before,
    )


def reverse_redemption(session: Session, principal: Principal, redemption_id: int, reason: str) -> ServiceRedemption:
    """Give the hours back (an administrator), e.g. when the service did not take place."""
    redemption = get_row(session, ServiceRedemption, redemption_id, what="service redemption", lock=True)
    principal.require_admin_of(redemption.community_id)
    if redemption.status == "reversed":
        raise Conflict("the redemption is already reversed", code="redemption_already_reversed")
    posted = ledger.reverse(
        session,
        transaction_id=redemption.transaction_id,
        idempotency_key=f"service-redemption:{redemption.id}:reverse",
        memo=reason,
        actor_id=principal.staff_id,
        details={"description": f"撤销 reversal: {redemption.service_name}", "reason": reason,
                 "service_redemption_id": redemption.id},
    )
    redemption.status = "reversed"
    redemption.reversed_by, redemption.reversal_reason = principal.staff_id, reason
    redemption.reversal_transaction_id = posted.transaction_id
    session.flush()
    return redemption


def transfer_hours(
    session: Session,
    principal: Principal,
    *,
    from_member_id: int,
    to_member_id: int,
    minutes: int,
    relation: str,
    note: str = "",
) -> HourTransfer:
    """Give time-bank minutes to a family member; the relation is recorded. A resident gives only
    their own hours; the receiver's storage cap (if the community sets one) holds."""
    giver = get_member(session, from_member_id)
    helper_grant = None
    if principal.role == Role.RESIDENT:
        if principal.member_id != giver.id:
            # a named helper (代办) gives the elder's hours; anyone else is refused as before
            if active_grant(session, elder_id=giver.id, helper_id=principal.member_id) is None:
                raise Forbidden("you can give only your own hours", code="not_your_hours")
            helper_grant = authorise_helper(session, principal, giver)
    else:
        principal.require_writer_in(giver.community_id)
    receiver = session.get(type(giver), to_member_id)
    if receiver is None or receiver.community_id != giver.community_id:
        raise Invalid("the receiver must be a resident of the same community", code="unknown_receiver")
    require_active(giver)
    require_active(receiver)
    if receiver.id == giver.id:
        raise Invalid("give hours to someone else", code="transfer_to_self")
    check_family(giver, receiver, relation)
    community = get_community(session, giver.community_id)
    source = member_wallet(session, giver, Unit.HOUR)
    target = member_wallet(session, receiver, Unit.HOUR)
    balances = ledger.lock_accounts(session, [source.id, target.id])
    if community.hour_storage_cap_minutes and balances[target.id] + minutes > community.hour_storage_cap_minutes:
        raise Invalid(
            "the receiver's time bank would exceed the community's storage cap",
            code="hour_storage_cap_exceeded",
            cap_minutes=community.hour_storage_cap_minutes, receiver_minutes=balances[target.id],
        )
    transfer = HourTransfer(
        community_id=giver.community_id, from_member_id=giver.id, to_member_id=receiver.id, relation=relation,
        minutes=minutes, note=note or "", created_by_staff_id=principal.staff_id,
        created_by_member_id=principal.member_id,
    )
    session.add(transfer)
    session.flush()
    posted = ledger.post(
        session,
        lines=[ledger.Line(source.id, -minutes), ledger.Line(target.id, minutes)],
        idempotency_key=f"hour-transfer:{transfer.id}",
        kind="hour_transfer",
        community_id=giver.community_id,
        memo=note or "转赠时间 hours given to family",
        actor_id=principal.staff_id,
        details={
            "description": f"转赠时间 hour transfer ({relation}) {giver.volunteer_number} → {receiver.volunteer_number}",
            "hour_transfer_id": transfer.id,
            "relation": relation,
            "from_member_id": giver.id,
            "to_member_id": receiver.id,
            **({"acted_by_member_id": principal.member_id} if helper_grant else {}),
        },
    )
    transfer.transaction_id = posted.transaction_id
    if helper_grant is not None:
        record_helper_action(
            session, helper_grant, kind="hour_transfer", transaction_id=posted.transaction_id, minutes=minutes
        )
    session.flush()
    return transfer


def list_transfers(
    session: Session, principal: Principal, *, community_id=None, member_id=None, limit=50, before=None
):
    def involving(member):
        return (HourTransfer.from_member_id == member) | (HourTransfer.to_member_id == member)

    filters = [involving(member_id)] if member_id is not None else []
    return community_page(
        session, principal, HourTransfer, *filters, community_id=community_id, own=involving(principal.member_id),
        limit=limit, before=before,
    )


