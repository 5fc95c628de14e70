"""Deterministic demo data: a city that looks like a real deployment, from a seed.

The foundation creates the city: communities, stations, supermarkets, staff for every role,
households and residents with Chinese names and their opening balances. Each domain package adds
its own history through ``service/<domain>/demo.py`` (``ORDER`` and ``generate(ctx)``), so the
same generator, given a size, also builds the large data sets the benchmarks need.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

import ledger
from ledger import Unit

from . import domains
from .auth.access import Principal
from .auth.models import Role
from .auth.operations import create_staff
from .community.models import Community, Station, Supermarket
from .community.operations import create_station, create_supermarket, issuance_account
from .extensions import db
from .flows import open_community
from .members.cards import format_card_code, new_card_code
from .members.models import Household, Member
from .members.operations import household_wallet, member_wallet, register_household, register_member

DEMO_PASSWORD = "greencoin-demo"
DEMO_PIN = "123456"

COMMUNITIES = [
    ("QL-SL", "三里村", "Sanli Village"),
    ("QL-BX", "白石江社区", "Baishijiang Community"),
    ("ZY-XP", "西平村", "Xiping Village"),
]
STATIONS = ["新时代文明实践站", "党群服务中心志愿服务站", "老年协会服务点"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志明春燕海燕德明秀英淑珍"


@dataclass
class DemoContext:
    """What the foundation generated, handed to each domain's demo step."""

    session: Session
    rng: random.Random
    now: dt.datetime
    months: int
    communities: list[Community] = field(default_factory=list)
    stations: list[Station] = field(default_factory=list)
    supermarkets: list[Supermarket] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    staff: dict[str, list] = field(default_factory=dict)  # role -> [Staff]
    progress: bool = False

    def admin_principal(self, community_id: int) -> Principal:
        admin = next(s for s in self.staff["admin"] if s.community_id == community_id)
        return Principal(role=Role.ADMIN, staff_id=admin.id, community_id=community_id, name=admin.name)

    def past(self, max_days: int) -> dt.datetime:
        """A random moment in the last ``max_days`` days, during daytime in Asia/Shanghai."""
        day = self.now - dt.timedelta(days=self.rng.randint(1, max_days))
        return day.replace(hour=self.rng.randint(0, 9), minute=self.rng.choice([0, 15, 30, 45]), second=0, microsecond=0)


def has_data(session: Session) -> bool:
    return session.scalars(select(Community.id).limit(1)).first() is not None


def chinese_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
    return rng.choice(SURNAMES) + given


def demo_logins(session: Session) -> list[tuple[str, str, str]]:
    """The demo's staff logins and the first residents' card codes (all share one PIN)."""
    rows = [("city-admin", DEMO_PASSWORD, "admin (city)")]
    for index, (code, name, _) in enumerate(COMMUNITIES):
        slug = code.lower()
        rows += [
            (f"{slug}-admin", DEMO_PASSWORD, f"admin ({name})"),
            (f"{slug}-supervisor", DEMO_PASSWORD, f"supervisor ({name})"),
            (f"{slug}-staff1", DEMO_PASSWORD, f"station_staff ({name})"),
            (f"{slug}-staff2", DEMO_PASSWORD, f"station_staff ({name})"),
        ]
        if index < 2:
            rows.append((f"{slug}-cashier", DEMO_PASSWORD, f"cashier ({name})"))
    residents = session.scalars(select(Member).where(Member.pin_hash.is_not(None)).order_by(Member.id).limit(3))
    rows += [(format_card_code(m.card_code), DEMO_PIN, f"resident {m.name} (card code + PIN)") for m in residents]
    return rows


def _foundation(ctx: DemoContext, residents_per_community: int) -> None:
    session, rng = ctx.session, ctx.rng
    ctx.staff = {role.value: [] for role in Role}
    ctx.staff["admin"].append(
        create_staff(session, username="city-admin", password=DEMO_PASSWORD, name="市级管理员", role="admin")
    )
    for index, (code, name, name_en) in enumerate(COMMUNITIES):
        community = open_community(session, code=code, name=name, name_en=name_en)
        ctx.communities.append(community)
        slug = code.lower()
        stations = [
            create_station(session, community_id=community.id, code=f"S{n + 1}", name=f"{name}{STATIONS[n]}")
            for n in range(2)
        ]
        ctx.stations += stations
        for role, suffix, extra in [
            ("admin", "admin", {"community_id": community.id}),
            ("supervisor", "supervisor", {"community_id": community.id}),
            ("station_staff", "staff1", {"station_id": stations[0].id}),
            ("station_staff", "staff2", {"station_id": stations[0].id}),
        ]:
            ctx.staff[role].append(
                create_staff(
                    session, username=f"{slug}-{suffix}", password=DEMO_PASSWORD,
                    name=chinese_name(rng), role=role, **extra,
                )
            )
        if index < 2:
            market = create_supermarket(session, community_id=community.id, code="M1", name=f"{name}爱心超市")
            ctx.supermarkets.append(market)
            ctx.staff["cashier"].append(
                create_staff(
                    session, username=f"{slug}-cashier", password=DEMO_PASSWORD, name=chinese_name(rng),
                    role="cashier", supermarket_id=market.id,
                )
            )
        _residents(ctx, community, residents_per_community)


def _residents(ctx: DemoContext, community: Community, count: int) -> None:
    session, rng = ctx.session, ctx.rng
    admin = ctx.admin_principal(community.id)
    coins = issuance_account(session, community.id, Unit.COIN)
    made = 0
    while made < count:
        head = chinese_name(rng)
        household = register_household(
            session, community_id=community.id, name=f"{head}家", address=f"{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
        )
        ctx.households.append(household)
        for n in range(min(rng.randint(1, 4), count - made)):
            name = head if n == 0 else head[0] + chinese_name(rng)[1:]
            born = dt.date(rng.randint(1945, 2010), rng.randint(1, 12), rng.randint(1, 28))
            member = register_member(
                session,
                community_id=community.id,
                name=name,
                phone=f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}",
                household_id=household.id,
                birth_date=born,
                pin=DEMO_PIN if made < 5 else None,
                card_code=new_card_code(rng.getrandbits),
            )
            ctx.members.append(member)
            made += 1
            opening = rng.choice([0, 0, 20, 50, 120])
            if opening:
                ledger.post(
                    session,
                    lines=[ledger.Line(member_wallet(session, member, Unit.COIN).id, opening), ledger.Line(coins.id, -opening)],
                    idempotency_key=f"demo:opening:{member.id}",
                    kind="opening_balance",
                    community_id=community.id,
                    memo="旧台账迁移 opening balance from the paper ledger",
                    actor_id=admin.staff_id,
                    details={"source": "paper ledger 2025"},
                )
        if rng.random() < 0.3:
            ledger.post(
                session,
                lines=[ledger.Line(household_wallet(session, household).id, 30), ledger.Line(coins.id, -30)],
                idempotency_key=f"demo:household-opening:{household.id}",
                kind="opening_balance",
                community_id=community.id,
                memo="户积分迁移 household opening balance",
                actor_id=admin.staff_id,
            )


def load_demo(*, seed: int = 20261121, residents_per_community: int = 300, months: int = 6, progress: bool = False):
    """Generate the demo city in the app's database; returns the demo logins."""
    rng = random.Random(seed)
    session = db.session
    if has_data(session):
        raise RuntimeError("the database already has data; demo data goes into an empty database")
    ctx = DemoContext(session=session, rng=rng, now=ledger.utcnow(), months=months, progress=progress)
    migrated_at = ctx.now - dt.timedelta(days=months * 30 + 1)  # the day the paper ledger moved over

    def foundation(c: DemoContext) -> None:
        with ledger.posting_time(migrated_at):
            _foundation(c, residents_per_community)

    steps = [(0, "city, people and opening balances", foundation)]
    steps += [(m.ORDER, m.__name__.split(".")[1], m.generate) for m in domains.domain_modules("demo")]
    for _order, label, step in tqdm(sorted(steps, key=lambda s: s[0]), desc="demo data", disable=not progress):
        step(ctx)
        session.flush()
        if progress:
            tqdm.write(f"  done: {label}")
    # Seal the history now: it is back-dated, so reconciliation would count it as late to seal.
    while ledger.seal(session):
        pass
    ledger.merkle.build_blocks(session)  # so residents can download provable statements at once
    session.commit()
    return demo_logins(session)
