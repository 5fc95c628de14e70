"""A city-size demo (``greencoin demo --size city``): a deterministic prefecture city and a year of
its history, loaded through the bulk path. ``bench/city_bench.py`` builds its book with this same
generator.

The places come through the service's own operations (communities with their issuance accounts,
expiry sinks and default indicators; stations; supermarkets with their tills, catalogue and an
opening stock receipt); residents, their households and wallets are written in bulk (ids drawn
from the tables' sequences). The history is ledger transactions in time order over the last year
(volunteer hours, conduct awards, baskets, whole refunds and award reversals, adjustments), with
balances tracked by the generator and written by ``ledger.bookload`` (hashes made by PostgreSQL,
links chained and sealed as they go). Every community clears its coins each 31 December
(年度清零), so expiry, star tiers and the monthly disclosure of every community can run on it.
What it does not make: the domain records behind the history (service records, award records,
baskets); the ledger carries it all, and the disclosure's award rows stay empty.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import ledger
from ledger import AccountType, Unit, bookload
from ledger.lookups import draw_ids

from .auth.access import Principal
from .auth.models import Role
from .auth.operations import create_staff, hash_secret
from .community.operations import (
    create_station,
    create_supermarket,
    expiry_sink,
    issuance_account,
    till_account,
)
from .demo import DEMO_PASSWORD, DEMO_PIN, chinese_name
from .flows import open_community
from .market import catalogue
from .market.demo import CATALOGUE
from .members.cards import format_card_code, new_card_code
from .members.models import Member

EXPIRY_MONTH_DAY = "12-31"
COINS_PER_HOUR = 10  # a new community's default rate
COUNTIES = "麒麟沾益马龙陆良师宗罗平富源会泽宣威"
PLACES = "东南西北中上下前后新老大小石青白红黄金银龙凤"
ACTIVITIES = ("环境整治", "关爱老人", "治安巡逻", "文明劝导", "垃圾分类宣传", "义务理发")


@dataclass(frozen=True)
class CitySize:
    """How big a city to build: ``residents`` per community, ``entries`` in the whole year."""

    communities: int
    residents: int
    entries: int
    stations: int = 2  # per community
    supermarkets: int = 1  # per community


# town: the bench's default; city: SPEC's prefecture city, ~2.2 M residents and ~20 M entries a year.
SIZES = {
    "town": CitySize(communities=20, residents=1_000, entries=1_000_000),
    "city": CitySize(communities=300, residents=7_334, entries=20_000_000, stations=8, supermarkets=4),
}


@dataclass
class City:
    """The accounts the history moves, by community (ids as written)."""

    communities: list[int] = field(default_factory=list)
    issuance: dict[int, dict[str, int]] = field(default_factory=dict)  # community -> unit -> account
    tills: dict[int, list[int]] = field(default_factory=dict)
    stations: dict[int, list[int]] = field(default_factory=dict)
    residents: list[tuple[int, int, int, int]] = field(default_factory=list)  # member, community, coin, hour
    households: int = 0
    admin_id: int = 0


def build_city(session: Session, size: CitySize, rng: random.Random, *, at: dt.datetime,
               progress: Callable[[int], None] | None = None) -> City:
    """The places through the service's operations, then residents, households and wallets in bulk."""
    city = City()
    admin = create_staff(session, username="city-admin", password=DEMO_PASSWORD, name="市级管理员", role="admin")
    city.admin_id = admin.id
    principal = Principal(role=Role.ADMIN, staff_id=admin.id, name=admin.name)
    for n in range(size.communities):
        name = f"{COUNTIES[2 * (n % 8):2 * (n % 8) + 2]}{PLACES[n // 8 % len(PLACES)]}{PLACES[n % len(PLACES)]}" + (
            "社区" if n % 3 else "村")
        community = open_community(session, code=f"C{n + 1:03d}", name=name, name_en=f"Community {n + 1}",
                                   coin_expiry_month_day=EXPIRY_MONTH_DAY)
        city.communities.append(community.id)
        city.issuance[community.id] = {u.value: issuance_account(session, community.id, u).id for u in Unit}
        expiry_sink(session, community.id)
        city.stations[community.id] = [
            create_station(session, community_id=community.id, code=f"S{s + 1}", name=f"{name}志愿服务站{s + 1}").id
            for s in range(size.stations)
        ]
        city.tills[community.id] = []
        for m in range(size.supermarkets):
            market = create_supermarket(session, community_id=community.id, code=f"M{m + 1}", name=f"{name}爱心超市{m + 1}")
            city.tills[community.id].append(till_account(session, market).id)
            for sku, product, unit, price, _stock in CATALOGUE:
                catalogue.create_product(session, principal, supermarket_id=market.id, sku=sku, name=product,
                                         unit=unit, price=price)
            catalogue.receive_stock(session, principal, supermarket_id=market.id, kind="donation", source="县供销社",
                                    note="开业捐赠 opening donation", at=at,
                                    lines=[{"sku": sku, "quantity": stock * 50} for sku, *_rest, stock in CATALOGUE])
        session.flush()
        _residents(session, city, community.id, size.residents, rng, at)
        if n == 0:  # the first residents sign in with the demo PIN
            first = [member for member, *_ in city.residents[:3]]
            session.execute(update(Member).where(Member.id.in_(first)).values(pin_hash=hash_secret(DEMO_PIN)))
        session.commit()
        if progress:
            progress(size.residents)
    return city


def _residents(session: Session, city: City, community_id: int, count: int, rng: random.Random,
               at: dt.datetime) -> None:
    """``count`` residents in households of one to four, each with COIN and HOUR wallets."""
    sizes = []
    while sum(sizes) < count:
        sizes.append(min(rng.randint(1, 4), count - sum(sizes)))
    member_ids = draw_ids(session, "members", count)
    household_ids = draw_ids(session, "households", len(sizes))
    members, households, accounts = [], [], []
    it = iter(member_ids)
    for household_id, people in zip(household_ids, sizes, strict=True):
        head = chinese_name(rng)
        households.append((household_id, community_id, f"{head}家", f"{rng.randint(1, 12)}组{rng.randint(1, 80)}号", at))
        accounts.append((AccountType.HOUSEHOLD_WALLET, Unit.COIN, household_id))
        for n in range(people):
            member_id = next(it)
            name = head if n == 0 else head[0] + chinese_name(rng)[1:]
            born = dt.date(rng.randint(1945, 2010), rng.randint(1, 12), rng.randint(1, 28))
            phone = f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}"
            members.append((member_id, community_id, household_id, name, phone, born,
                            f"V{community_id:04d}{member_id:08d}", new_card_code(rng.getrandbits), True, at))
            accounts += [(AccountType.MEMBER_WALLET, Unit.COIN, member_id), (AccountType.MEMBER_WALLET, Unit.HOUR, member_id)]
    account_ids = draw_ids(session, "ledger_accounts", len(accounts))
    connection = session.connection()
    bookload.copy_rows(connection, "households", ("id", "community_id", "name", "address", "created_at"), households)
    bookload.copy_rows(connection, "members", ("id", "community_id", "household_id", "name", "phone", "birth_date",
                                               "volunteer_number", "card_code", "active", "created_at"), members)
    bookload.copy_rows(
        connection, "ledger_accounts",
        ("id", "code", "type", "unit", "community_id", "owner_id", "allow_negative", "track_balance", "balance",
         "version", "created_at"),
        ((account_id, ledger.account_code(type_, owner, unit), type_.value, unit.value, community_id, owner, False,
          True, 0, 0, at) for account_id, (type_, unit, owner) in zip(account_ids, accounts, strict=True)),
    )
    by_owner = {(type_, unit, owner): account_id for account_id, (type_, unit, owner) in zip(account_ids, accounts,
                                                                                               strict=True)}
    for member_id, *_ in members:
        city.residents.append((member_id, community_id, by_owner[AccountType.MEMBER_WALLET, Unit.COIN, member_id],
                               by_owner[AccountType.MEMBER_WALLET, Unit.HOUR, member_id]))
    city.households += len(households)


def city_logins(session: Session) -> list[tuple[str, str, str]]:
    """The city administrator and the first residents' card codes (they share the demo PIN)."""
    residents = session.scalars(select(Member).where(Member.pin_hash.is_not(None)).order_by(Member.id).limit(3))
    return [("city-admin", DEMO_PASSWORD, "admin (city)")] + [
        (format_card_code(m.card_code), DEMO_PIN, f"resident {m.name} (card code + PIN)") for m in residents
    ]


class History:
    """A year of postings in time order, with the balance and version every wallet reaches."""

    def __init__(self, city: City, rng: random.Random, start: dt.datetime, first_id: int):
        self.city, self.rng, self.now = city, rng, start
        self.next_id = first_id
        self.balances: dict[int, list[int]] = {}  # tracked account -> [balance, version]
        self.moved: set[int] = set()  # tracked accounts moved since the last write
        self._shared: dict[tuple, dict] = {}
        # System accounts (issuance, tills) keep no stored balance.
        self._untracked = {a for units in city.issuance.values() for a in units.values()} | {
            a for tills in city.tills.values() for a in tills}
        self.transactions: list[tuple] = []
        self.entries: list[tuple] = []
        self.reversible: list[tuple[int, str, int, list[tuple[int, str, int]]]] = []
        self.count = self.entry_count = 0

    def _post(self, kind: str, community: int, lines: list[tuple[int, str, int]], *, key: str, memo: str = "",
              details: dict | None = None, actor: int | None = None, location: str | None = None,
              reverses: int | None = None) -> int:
        tx_id = self.next_id
        self.next_id += 1
        self.transactions.append((tx_id, key, kind, community, memo, actor, location, details or {}, reverses, None,
                                  self.now))
        balances = self.balances
        for account_id, unit, amount in lines:
            if account_id in self._untracked:
                self.entries.append((tx_id, account_id, unit, amount, None, None))
                continue
            state = balances.get(account_id)
            if state is None:
                state = balances[account_id] = [0, 0]
            self.moved.add(account_id)
            state[0] += amount
            state[1] += 1
            self.entries.append((tx_id, account_id, unit, amount, state[0], state[1]))
        self.count += 1
        self.entry_count += len(lines)
        return tx_id

    def _details(self, shape: tuple, make: Callable[[], dict]) -> dict:
        """One details object per distinct content, shared (never mutated): the loader makes each
        one's canonical text once per chunk instead of once per transaction."""
        details = self._shared.get(shape)
        if details is None:
            details = self._shared[shape] = make()
        return details

    def _balance(self, account_id: int) -> int:
        state = self.balances.get(account_id)
        return state[0] if state else 0

    def step(self, seconds: float) -> None:
        """One posting of a random kind, ``seconds`` after the previous one."""
        self.now += dt.timedelta(seconds=seconds)
        city, rng = self.city, self.rng
        member, community, coin, hour = rng.choice(city.residents)
        issuance = city.issuance[community]
        roll = rng.random()
        n = self.next_id
        if roll < 0.40:
            # A few residents give most of the hours (skewed towards the first of the list), so stars vary.
            member, community, coin, hour = city.residents[int(len(city.residents) * rng.random() ** 3)]
            issuance = city.issuance[community]
            minutes = rng.choice((60, 90, 120, 180, 240))
            coins = minutes * COINS_PER_HOUR // 60
            activity = rng.choice(ACTIVITIES)
            station = rng.choice(city.stations[community])
            self._post("volunteer_hours", community,
                       [(hour, "HOUR", minutes), (issuance["HOUR"], "HOUR", -minutes), (coin, "COIN", coins),
                        (issuance["COIN"], "COIN", -coins)],
                       key=f"city:service-record:{n}:approve", memo=f"志愿服务 {activity}", actor=city.admin_id,
                       location=f"station:{station}",
                       details=self._details(("hours", activity, minutes), lambda: {
                           "description": f"{activity} · 志愿服务站", "minutes": minutes, "coins": coins,
                           "coins_per_hour": COINS_PER_HOUR}))
        elif roll < 0.65:
            points = rng.choice((5, 10, 20, 30))
            lines = [(coin, "COIN", points), (issuance["COIN"], "COIN", -points)]
            tx = self._post("conduct_award", community, lines, key=f"city:conduct-award:{n}:credit", memo="邻里互助",
                            actor=city.admin_id,
                            details=self._details(("award", points), lambda: {
                                "description": "加分 邻里关系 (NB01)", "indicator_code": "NB01", "points": points}))
            self.reversible.append((tx, "conduct_award", community, lines))
        elif roll < 0.90:
            _sku, product, _unit, price, _stock = rng.choice(CATALOGUE)
            quantity = min(rng.randint(1, 3), self._balance(coin) // price)
            if quantity <= 0:
                return self.step(0)
            till = rng.choice(city.tills[community])
            total = price * quantity
            lines = [(coin, "COIN", -total), (till, "COIN", total)]
            tx = self._post("redemption", community, lines, key=f"city:redemption:{n}", actor=city.admin_id,
                            location=f"supermarket:{till}",
                            details=self._details(("basket", product, quantity), lambda: {
                                "description": f"爱心超市 {product}×{quantity}",
                                "lines": [{"name": product, "quantity": quantity, "unit_price": price}]}))
            self.reversible.append((tx, "redemption", community, lines))
        elif self.reversible and roll < 0.95:
            tx, kind, community, lines = self.reversible.pop(rng.randrange(len(self.reversible)))
            if any(amount > 0 and a not in self._untracked and self._balance(a) < amount for a, _u, amount in lines):
                return self.step(0)
            self._post(f"{kind}.reversal", community, [(a, u, -m) for a, u, m in lines], key=f"city:reverse:{tx}",
                       memo="退货 whole refund" if kind == "redemption" else "核实后撤销", reverses=tx,
                       actor=city.admin_id, details=self._details(("reversal", kind), lambda: {
                           "reason": "顾客退货" if kind == "redemption" else "重复申报"}))
        else:
            amount = rng.randint(1, 50)
            self._post("adjustment", community, [(coin, "COIN", amount), (issuance["COIN"], "COIN", -amount)],
                       key=f"city:adjustment:{n}", memo="迁移更正", actor=city.admin_id,
                       details=self._details(("adjustment",), lambda: {"reason": "迁移更正"}))
        return None

    def take(self) -> tuple[list[tuple], list[tuple]]:
        taken = self.transactions, self.entries
        self.transactions, self.entries = [], []
        return taken


def write_history(session: Session, history: History, transactions: int, *, seconds: float, chunk: int = 50_000,
                  progress: Callable[[int], None] | None = None) -> int:
    """Generate ``transactions`` postings ``seconds`` apart on average and load them, a commit per
    chunk, then the stored balances; returns the rows written (transactions, entries, links)."""

    def chunks():
        step, expovariate, done = history.step, history.rng.expovariate, 0
        while done < transactions:
            count = min(chunk, transactions - done)
            for _ in range(count):
                step(expovariate(1 / seconds))
            done += count
            yield history.take()

    loader = bookload.BookLoader(session)
    loader.write_all(chunks(), progress)
    loader.finish({a: tuple(history.balances[a]) for a in history.moved})
    history.moved.clear()
    session.commit()
    return loader.rows


def load_city(session: Session, size: CitySize, *, seed: int = 20261204, now: dt.datetime | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> tuple[City, History]:
    """Build the city and its year of history in an empty database; ``progress(stage, done, total)``."""
    rng = random.Random(seed)
    now = now or ledger.utcnow()
    start = now - dt.timedelta(days=366)

    def tick(stage: str, total: int):
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            if progress:
                progress(stage, done[0], total)
        return advance

    with ledger.posting_time(start):
        city = build_city(session, size, rng, at=start,
                          progress=tick("residents", size.communities * size.residents))
    history = History(city, rng, start, bookload.next_transaction_id(session.connection()))
    transactions = size.entries * 10 // 27  # ~2.7 entries per posting in this mix
    write_history(session, history, transactions, seconds=365 * 86400 / max(transactions, 1),
                  progress=tick("postings", transactions))
    return city, history
