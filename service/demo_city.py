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

Behind every posting are the records the service's own operation would have written, with the same
columns, statuses, links and ledger keys (``service.demo_city_records``, written in the loader's
chunks): approved service records logged by each station's desk (a staff member per station,
written in bulk) and approved by the city administrator; credited awards of the community's bonus
indicators within their monthly caps, marked reversed by their reversals; baskets of the
supermarket's own products with their lines and stock movements (a stock receipt restocks a shelf
that runs low); whole refunds with their lines and the stock back. An adjustment is a posting
alone, as the office's own (``bookkeeping.adjust``) is. So the office and resident pages
show what lies behind each line, the monthly disclosure ties out, and the market's stock and basket
checks pass.
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

from . import demo_city_records, localtime
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
from .conduct.models import Beneficiary, Indicator
from .demo import DEMO_PASSWORD, DEMO_PIN, chinese_name
from .flows import open_community
from .market import catalogue
from .market.demo import CATALOGUE
from .members.cards import format_card_code, new_card_code
from .members.models import Member
from .volunteering.models import RecordStatus

EXPIRY_MONTH_DAY = "12-31"
COINS_PER_HOUR = 10  # a new community's default rate
DAILY_CAP_MINUTES = 480  # a new community's default: more in one day needs an administrator's approval
RESTOCK_TIMES = 50  # an opening donation and each restock bring this many times the demo catalogue's stock
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
    # What the domain records name: places by id, the desk that logs each station's hours, the
    # member indicators with a bonus (id, code, name, category, points, monthly cap), the catalogue
    # (id, sku, name, unit, price, restock quantity) and stock of each supermarket.
    station_names: dict[int, str] = field(default_factory=dict)
    station_desks: dict[int, int] = field(default_factory=dict)  # station -> its staff member
    supermarkets: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)  # community -> (id, till, name)
    indicators: dict[int, list[tuple]] = field(default_factory=dict)
    products: dict[int, list[tuple]] = field(default_factory=dict)
    stock: dict[int, int] = field(default_factory=dict)  # product -> count
    next_ids: dict[str, int] = field(default_factory=dict)  # the first id of each record table's new rows


def build_city(session: Session, size: CitySize, rng: random.Random, *, at: dt.datetime,
               progress: Callable[[int], None] | None = None) -> City:
    """The places through the service's operations, then residents, households and wallets in bulk."""
    city = City()
    admin = create_staff(session, username="city-admin", password=DEMO_PASSWORD, name="市级管理员", role="admin")
    city.admin_id = admin.id
    principal = Principal(role=Role.ADMIN, staff_id=admin.id, name=admin.name)
    password_hash = admin.password_hash
    for n in range(size.communities):
        name = f"{COUNTIES[2 * (n % 8):2 * (n % 8) + 2]}{PLACES[n // 8 % len(PLACES)]}{PLACES[n % len(PLACES)]}" + (
            "社区" if n % 3 else "村")
        community = open_community(session, code=f"C{n + 1:03d}", name=name, name_en=f"Community {n + 1}",
                                   coin_expiry_month_day=EXPIRY_MONTH_DAY)
        city.communities.append(community.id)
        city.issuance[community.id] = {u.value: issuance_account(session, community.id, u).id for u in Unit}
        expiry_sink(session, community.id)
        stations = [create_station(session, community_id=community.id, code=f"S{s + 1}", name=f"{name}志愿服务站{s + 1}")
                    for s in range(size.stations)]
        city.stations[community.id] = [station.id for station in stations]
        city.station_names.update((station.id, station.name) for station in stations)
        _desks(session, city, community.code, stations, password_hash, at)
        city.indicators[community.id] = [
            (i.id, i.code, i.name, i.category, i.points, i.monthly_cap_points)
            for i in session.scalars(select(Indicator).where(
                Indicator.community_id == community.id, Indicator.active.is_(True), Indicator.points > 0,
                Indicator.beneficiary == Beneficiary.MEMBER.value).order_by(Indicator.id))
        ]
        city.tills[community.id] = []
        city.supermarkets[community.id] = []
        for m in range(size.supermarkets):
            market = create_supermarket(session, community_id=community.id, code=f"M{m + 1}", name=f"{name}爱心超市{m + 1}")
            city.tills[community.id].append(till_account(session, market).id)
            city.supermarkets[community.id].append((market.id, city.tills[community.id][-1], market.name))
            products = [catalogue.create_product(session, principal, supermarket_id=market.id, sku=sku, name=product,
                                                 unit=unit, price=price)
                        for sku, product, unit, price, _stock in CATALOGUE]
            city.products[market.id] = [(p.id, p.sku, p.name, p.unit, p.price, stock * RESTOCK_TIMES)
                                        for p, (*_row, stock) in zip(products, CATALOGUE, strict=True)]
            catalogue.receive_stock(session, principal, supermarket_id=market.id, kind="donation", source="县供销社",
                                    note="开业捐赠 opening donation", at=at,
                                    lines=[{"sku": sku, "quantity": stock * RESTOCK_TIMES}
                                           for sku, *_rest, stock in CATALOGUE])
            city.stock.update((p.id, stock * RESTOCK_TIMES) for p, (*_row, stock) in zip(products, CATALOGUE,
                                                                                          strict=True))
        session.flush()
        _residents(session, city, community.id, size.residents, rng, at)
        if n == 0:  # the first residents sign in with the demo PIN
            first = [member for member, *_ in city.residents[:3]]
            session.execute(update(Member).where(Member.id.in_(first)).values(pin_hash=hash_secret(DEMO_PIN)))
        session.commit()
        if progress:
            progress(size.residents)
    city.next_ids = demo_city_records.first_ids(session)
    return city


def _desks(session: Session, city: City, community_code: str, stations: list, password_hash: str,
           at: dt.datetime) -> None:
    """A staff member at each station's desk (``C001-S1``, the demo password), who logs its hours: an
    administrator approves them (four eyes). Written in bulk with the one password hash."""
    ids = draw_ids(session, "staff", len(stations))
    bookload.copy_rows(
        session.connection(), "staff",
        ("id", "username", "password_hash", "name", "role", "community_id", "station_id", "active",
         "must_change_password", "created_at"),
        [(staff_id, f"{community_code}-{station.code}", password_hash, f"{station.name}值班员",
          Role.STATION_STAFF.value, station.community_id, station.id, True, False, at)
         for staff_id, station in zip(ids, stations, strict=True)],
    )
    city.station_desks.update((station.id, staff_id) for staff_id, station in zip(ids, stations, strict=True))


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
                            volunteer_number(community_id, member_id), new_card_code(rng.getrandbits), True, at))
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
    """A year of postings in time order, with the balance and version every wallet reaches and the
    domain records the service would have written for each (``service.demo_city_records``)."""

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
        # (transaction, kind, community, lines, what the reversal needs of its record)
        self.reversible: list[tuple[int, str, int, list[tuple[int, str, int]], tuple]] = []
        self.count = self.entry_count = 0
        self.records = demo_city_records.Records(dict(city.next_ids), dict(city.stock))
        self.zone = localtime.zone()
        # volunteer -> (end of their last service, its local date, minutes approved that date):
        # one service at a time, and the daily cap (a volunteer's records come in time order).
        self._volunteers: dict[int, tuple[dt.datetime, dt.date, int]] = {}
        self._month: tuple[int, int] | None = None
        self._given: dict[tuple[int, int], int] = {}  # (indicator, member) -> points this month, for the caps

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
        """One posting of a random kind, ``seconds`` after the previous one, and its records."""
        self.now += dt.timedelta(seconds=seconds)
        member, community, coin, _hour = self.rng.choice(self.city.residents)
        roll = self.rng.random()
        if roll < 0.40:
            return self._hours()
        if roll < 0.65:
            return self._award(member, community, coin)
        if roll < 0.90:
            return self._basket(member, community, coin)
        if self.reversible and roll < 0.95:
            return self._reverse()
        amount = self.rng.randint(1, 50)
        self._post("adjustment", community,
                   [(coin, "COIN", amount), (self.city.issuance[community]["COIN"], "COIN", -amount)],
                   key=f"city:adjustment:{self.next_id}", memo="迁移更正", actor=self.city.admin_id,
                   details=self._details(("adjustment",), lambda: {"reason": "迁移更正"}))
        return None

    def _hours(self) -> None:
        """An approved service record (``approve_service_record``): logged by the station's desk when
        the service ended, within the two days before an administrator approves it."""
        city, rng, now = self.city, self.rng, self.now
        for _attempt in range(3):
            # A few residents give most of the hours (skewed towards the first of the list), so stars vary.
            member, community, coin, hour = city.residents[int(len(city.residents) * rng.random() ** 3)]
            minutes = rng.choice((60, 90, 120, 180, 240))
            ended = now - dt.timedelta(minutes=rng.randint(10, 2 * 24 * 60))
            started = ended - dt.timedelta(minutes=minutes)
            free_from, last_day, day_minutes = self._volunteers.get(member, (started, None, 0))
            if started < free_from:  # no overlapping records: after the volunteer's last service
                started, ended = free_from, free_from + dt.timedelta(minutes=minutes)
            if ended <= now:
                break
        else:
            return self.step(0)  # the volunteers drawn are still busy
        day = started.astimezone(self.zone).date()
        day_minutes = day_minutes if day == last_day else 0
        self._volunteers[member] = (ended, day, day_minutes + minutes)
        coins = minutes * COINS_PER_HOUR // 60
        activity = rng.choice(ACTIVITIES)
        station = rng.choice(city.stations[community])
        issuance, admin = city.issuance[community], city.admin_id
        record = self.records.new_id("service_records")
        tx = self._post("volunteer_hours", community,
                        [(hour, "HOUR", minutes), (issuance["HOUR"], "HOUR", -minutes), (coin, "COIN", coins),
                         (issuance["COIN"], "COIN", -coins)],
                        key=f"service-record:{record}:approve", memo=f"志愿服务 {activity}", actor=admin,
                        location=f"station:{station}",
                        details={"description": f"{activity} · {city.station_names[station]}",
                                 "service_record_id": record, "service_date": day.isoformat(), "minutes": minutes,
                                 "coins": coins, "coins_per_hour": COINS_PER_HOUR,
                                 "volunteer_number": volunteer_number(community, member)})
        # demo_city_records.COLUMNS["service_records"]; an administrator's approval verifies it too
        self.records.rows["service_records"].append((
            record, community, station, member, activity, started, ended, minutes, day, "",
            RecordStatus.APPROVED.value, False, day_minutes + minutes > DAILY_CAP_MINUTES, city.station_desks[station],
            admin, now, admin, now, coins, COINS_PER_HOUR, tx, ended))
        return None

    def _award(self, member: int, community: int, coin: int) -> None:
        """A credited award of one of the community's bonus indicators (``create_award``, no notice
        period), within the indicator's monthly cap."""
        city, now = self.city, self.now
        today = now.astimezone(self.zone).date()
        if (today.year, today.month) != self._month:
            self._month = (today.year, today.month)
            self._given.clear()
        indicator, code, name, category, points, cap = self.rng.choice(city.indicators[community])
        given = self._given.get((indicator, member), 0)
        if cap and given + points > cap:
            return self.step(0)
        self._given[indicator, member] = given + points
        award = self.records.new_id("conduct_awards")
        lines = [(coin, "COIN", points), (city.issuance[community]["COIN"], "COIN", -points)]
        tx = self._post("conduct_award", community, lines, key=f"conduct-award:{award}:credit", memo=name,
                        actor=city.admin_id,
                        details={"description": f"加分 {name} ({code})", "award_id": award, "indicator_code": code,
                                 "points": points, "shortfall": 0, "earned_by_member_id": None})
        self.records.rows["conduct_awards"].append((  # demo_city_records.COLUMNS["conduct_awards"]
            award, community, indicator, code, name, category, points, member, name, "", city.admin_id, today,
            "credited", today, now, points, 0, tx, now))
        self.reversible.append((tx, "conduct_award", community, lines, (award, name, code)))
        return None

    def _basket(self, member: int, community: int, coin: int) -> None:
        """A basket of one to three products of a supermarket's catalogue (``redeem``), restocked
        first by a stock receipt if a shelf ran low."""
        city, rng, records, now = self.city, self.rng, self.records, self.now
        market, till, market_name = rng.choice(city.supermarkets[community])
        budget, sold = self._balance(coin), []
        for product in rng.sample(city.products[market], rng.randint(1, 3)):
            quantity = min(rng.randint(1, 3), budget // product[4])
            if quantity > 0:
                sold.append((product, quantity))
                budget -= product[4] * quantity
        if not sold:
            return self.step(0)
        short = sorted(product for product, quantity in sold if records.stock[product[0]] < quantity)
        if short:
            receipt = records.new_id("stock_receipts")
            records.rows["stock_receipts"].append((receipt, market, community, "purchase", "县供销社", "补货 restock",
                                                   city.admin_id, now))
            for product in short:
                records.move_stock(product[0], market, "receipt", product[5], now, receipt=receipt)
        total = sum(product[4] * quantity for product, quantity in sold)
        redemption = records.new_id("redemptions")
        lines = [(coin, "COIN", -total), (till, "COIN", total)]
        tx = self._post("redemption", community, lines, key=f"city:redemption:{self.next_id}", actor=city.admin_id,
                        location=f"supermarket:{market}",
                        details={"description": f"{market_name} 兑换: " + "、".join(f"{p[2]}×{q}" for p, q in sold),
                                 "supermarket_id": market, "member_id": member, "paid_from": "member",
                                 "lines": [{"sku": p[1], "name": p[2], "quantity": q, "unit_price": p[4]}
                                           for p, q in sold]})
        records.rows["redemptions"].append((redemption, market, community, member, "member", coin, tx, city.admin_id,
                                            total, self._balance(coin), "", now))
        basket_lines = []
        for (product_id, sku, name, unit, price, _restock), quantity in sold:
            line = records.new_id("redemption_lines")
            records.rows["redemption_lines"].append((line, redemption, product_id, sku, name, unit, quantity, price,
                                                     price * quantity, 0))
            basket_lines.append((line, product_id, sku, name, price, quantity))
        for product, quantity in sorted(sold):
            records.move_stock(product[0], market, "redemption", -quantity, now, redemption=redemption)
        self.reversible.append((tx, "redemption", community, lines,
                                (redemption, market, market_name, coin, basket_lines)))
        return None

    def _reverse(self) -> None:
        """A whole refund of a basket (``refund_redemption``) or the reversal of an award (``reverse_award``)."""
        records, now, admin = self.records, self.now, self.city.admin_id
        tx, kind, community, lines, record = self.reversible.pop(self.rng.randrange(len(self.reversible)))
        if any(amount > 0 and a not in self._untracked and self._balance(a) < amount for a, _u, amount in lines):
            return self.step(0)
        undo = [(a, u, -m) for a, u, m in lines]
        if kind == "conduct_award":
            award, name, code = record
            reason = "重复申报，核实后撤销"
            reversal = self._post("conduct_award.reversal", community, undo, key=f"conduct-award:{award}:reverse",
                                  memo=reason, reverses=tx, actor=admin,
                                  details={"description": f"撤销 reversal: {name} ({code})", "award_id": award,
                                           "reason": reason})
            records.reversed_awards.append((award, admin, now, reason, reversal))
            return None
        redemption, market, market_name, wallet, basket_lines = record
        reason = "顾客退货"
        reversal = self._post(
            "redemption.reversal", community, undo, key=f"city:refund:{redemption}", memo=reason, reverses=tx,
            actor=admin, location=f"supermarket:{market}",
            details={"description": f"{market_name} 退货 R{market:04d}-{redemption:08d}: "
                     + "、".join(f"{name}×{quantity}" for _l, _p, _s, name, _price, quantity in basket_lines),
                     "reason": reason, "redemption_id": redemption,
                     "lines": [{"sku": sku, "name": name, "quantity": quantity, "unit_price": price}
                               for _l, _p, sku, name, price, quantity in basket_lines]})
        refund = records.new_id("redemption_refunds")
        records.rows["redemption_refunds"].append((
            refund, redemption, market, community, reversal, admin, reason, True,
            sum(price * quantity for *_line, price, quantity in basket_lines), self._balance(wallet), now))
        for line, product_id, sku, name, price, quantity in basket_lines:
            records.rows["redemption_refund_lines"].append((records.new_id("redemption_refund_lines"), refund, line,
                                                            product_id, sku, name, quantity, price, price * quantity))
        for _line, product_id, *_rest, quantity in sorted(basket_lines, key=lambda ln: ln[1]):
            records.move_stock(product_id, market, "refund", quantity, now, refund=refund)
        records.refunded.append(redemption)
        return None

    def take(self, postgresql: bool = False) -> tuple[list[tuple], list[tuple], tuple]:
        """The chunk generated so far: transactions, entries and their records (``demo_city_records``)."""
        taken = self.transactions, self.entries, self.records.take(postgresql)
        self.transactions, self.entries = [], []
        return taken


def volunteer_number(community_id: int, member_id: int) -> str:
    """The volunteer number (志愿者编号) a generated resident gets."""
    return f"V{community_id:04d}{member_id:08d}"


def write_history(session: Session, history: History, transactions: int, *, seconds: float, chunk: int = 50_000,
                  progress: Callable[[int], None] | None = None) -> int:
    """Generate ``transactions`` postings ``seconds`` apart on average and load them, a commit per
    chunk, then the stored balances; returns the rows written (transactions, entries, links)."""

    postgresql = session.get_bind().dialect.name == "postgresql"

    def chunks():
        step, expovariate, done = history.step, history.rng.expovariate, 0
        while done < transactions:
            count = min(chunk, transactions - done)
            for _ in range(count):
                step(expovariate(1 / seconds))
            done += count
            yield history.take(postgresql)

    loader = bookload.BookLoader(session, companion_tables=demo_city_records.TABLES,
                                 write_companion=demo_city_records.write)
    loader.write_all(chunks(), progress)
    loader.finish({a: tuple(history.balances[a]) for a in history.moved})
    history.moved.clear()
    demo_city_records.finish(session, history.records)
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
