"""Demo time bank: providers with services, some redemptions and a family hour transfer."""

from __future__ import annotations

from sqlalchemy import select

from ledger import Account, AccountType, Unit

from ..auth.operations import principal_for_staff
from ..members.models import Member
from . import operations

ORDER = 30

PROVIDERS = [
    ("幸福理发室", "王师傅 139****", [("上门理发", "Haircut at home", "care", 30), ("老人修面", "Shave for elders", "care", 20)]),
    ("邻里维修队", "李师傅 138****", [("家电维修", "Appliance repair", "repair", 60), ("水电检修", "Plumbing check", "repair", 45)]),
    ("居家养老服务中心", "站长", [("陪护就医", "Escort to the doctor", "elder_care", 120), ("助浴", "Bathing help", "elder_care", 60)]),
]


def generate(ctx) -> None:
    session, rng = ctx.session, ctx.rng
    for community in ctx.communities:
        admin = ctx.admin_principal(community.id)
        staff = next(principal_for_staff(s) for s in ctx.staff["station_staff"] if s.community_id == community.id)
        services = []
        for name, contact, offered in rng.sample(PROVIDERS, 2):
            provider = operations.create_provider(session, admin, community_id=community.id, name=name, contact=contact)
            for service_name, name_en, category, minutes in offered:
                services.append(
                    operations.create_service(
                        session, admin, provider_id=provider.id, name=service_name, name_en=name_en,
                        category=category, minutes=minutes,
                    )
                )
        rich = session.scalars(
            select(Member)
            .join(Account, (Account.owner_id == Member.id) & (Account.type == AccountType.MEMBER_WALLET.value))
            .where(Member.community_id == community.id, Account.unit == Unit.HOUR.value, Account.balance >= 240)
            .order_by(Member.id)
        ).all()
        for member in rich[:6]:
            service = rng.choice(services)
            operations.redeem_service(session, staff, member_id=member.id, service_id=service.id, note="服务已完成")
        giver = next((m for m in rich[6:] if m.household_id), None)
        relatives = [
            m for m in ctx.members if giver and m.household_id == giver.household_id and m.id != giver.id
        ]
        if giver and relatives:
            operations.transfer_hours(
                session, staff, from_member_id=giver.id, to_member_id=relatives[0].id, minutes=120,
                relation="parent", note="给母亲的护理时间",
            )
