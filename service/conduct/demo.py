"""Demo good conduct: default indicators per community, months of awards and deductions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

import ledger

from ..auth.operations import principal_for_staff
from ..errors import DomainError
from . import operations
from .models import Beneficiary, Indicator

ORDER = 20


def generate(ctx) -> None:
    session, rng = ctx.session, ctx.rng
    for community in ctx.communities:
        indicators = session.scalars(
            select(Indicator).where(Indicator.community_id == community.id, Indicator.active.is_(True)).order_by(Indicator.id)
        ).all()  # a new community starts with the default indicators
        staff = next(principal_for_staff(s) for s in ctx.staff["station_staff"] if s.community_id == community.id)
        admin = ctx.admin_principal(community.id)
        members = [m for m in ctx.members if m.community_id == community.id]
        households = [h for h in ctx.households if h.community_id == community.id]
        bonuses = [i for i in indicators if i.points > 0]
        deductions = [i for i in indicators if i.points < 0]
        today = ctx.now.date()
        made = []
        for _ in range(len(members) // 4):
            indicator = rng.choice(bonuses) if rng.random() < 0.92 else rng.choice(deductions)
            day = today - dt.timedelta(days=rng.randint(1, max(ctx.months * 30, 30)))
            target = (
                {"household_id": rng.choice(households).id}
                if indicator.beneficiary == Beneficiary.HOUSEHOLD.value
                else {"member_id": rng.choice(members).id}
            )
            try:
                awarded_at = dt.datetime.combine(day, dt.time(4, 0), tzinfo=dt.UTC)  # 12:00 in Shanghai
                with session.begin_nested(), ledger.posting_time(awarded_at):
                    made.append(
                        operations.create_award(
                            session, staff, indicator_id=indicator.id, note=f"{indicator.name}（{day:%m月%d日}）",
                            evidence="现场照片", today=day, **target,
                        )
                    )
            except DomainError:
                continue  # a monthly cap reached: as a real desk would be told
        household_award = next((a for a in made if a.household_id and a.points > 0), None)
        reversible = next(a for a in made if a.points > 0 and a is not household_award)
        operations.reverse_award(session, admin, reversible.id, "村务监督委员会核实：重复申报")
