"""How a good-conduct award or deduction reads on the desk's lists and on the resident's statement:
whom it was for (a resident, or a household and who earned it) and, for a deduction, what was
actually taken and the shortfall (a deduction takes at most what the wallet holds, SPEC §2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ..conduct.models import ConductAward
from ..members.models import Household, Member
from ..privacy import mask_name


@dataclass
class AwardPeople:
    """The households and residents named by some awards, loaded in two queries."""

    households: dict[int, str]
    members: dict[int, str]

    @classmethod
    def of(cls, session, awards) -> AwardPeople:
        household_ids = {a.household_id for a in awards if a.household_id}
        member_ids = {i for a in awards for i in (a.member_id, a.earned_by_member_id) if i}
        households = dict(session.execute(
            select(Household.id, Household.name).where(Household.id.in_(household_ids))
        ).all()) if household_ids else {}
        members = dict(session.execute(
            select(Member.id, Member.name).where(Member.id.in_(member_ids))
        ).all()) if member_ids else {}
        return cls(households, members)

    def award_for(self, award: ConductAward, *, reader_id: int | None = None, masked: bool = False) -> str:
        """"张三", or "household 王家 · earned by 王*明" (the reader's own name is left out)."""
        def name(member_id):
            value = self.members.get(member_id, "")
            return mask_name(value) if masked else value

        if award.household_id is None:
            return name(award.member_id)
        words = _("household %(name)s", name=self.households.get(award.household_id, ""))
        earner = award.earned_by_member_id
        if earner and earner != reader_id:
            words += " · " + _("earned by %(name)s", name=name(earner))
        return words


def taken_words(award: ConductAward) -> str:
    """For a credited deduction: what was asked, what was taken and what was short."""
    if award.points >= 0 or award.amount_posted is None:
        return ""
    taken = -award.amount_posted
    if not award.shortfall:
        return _("%(taken)s coins taken", taken=taken)
    return _(
        "%(asked)s asked, %(taken)s taken, %(short)s short (not enough coins)",
        asked=-award.points, taken=taken, short=award.shortfall,
    )


def nothing_taken(session, *, member_id: int | None = None, household_id: int | None = None, month: str = "",
                  limit: int = 10) -> list[ConductAward]:
    """Deductions that took no coins (the wallet was empty): no ledger line shows them, so the
    statement lists them apart, with their shortfall."""
    owner = ConductAward.household_id == household_id if household_id else ConductAward.member_id == member_id
    query = (
        select(ConductAward)
        .where(owner, ConductAward.points < 0, ConductAward.amount_posted == 0, ConductAward.status == "credited")
        .order_by(ConductAward.id.desc())
        .limit(limit)
    )
    if month:
        year, number = int(month[:4]), int(month[5:])
        start = dt.date(year, number, 1)
        end = dt.date(year + number // 12, number % 12 + 1, 1)
        query = query.where(ConductAward.award_date >= start, ConductAward.award_date < end)
    return list(session.scalars(query))
