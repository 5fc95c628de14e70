"""A generated city's year of history (``service.demo_city``): ledger postings in time order over the
year, each with the domain records the service would have written for it (``demo_city_records``),
loaded chunk by chunk through ``ledger.bookload``. ``demo_city`` builds the city itself (places,
residents, wallets) and re-exports what is here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from sqlalchemy.orm import Session

from ledger import bookload

from . import demo_city_records, localtime
from .volunteering.models import RecordStatus

COINS_PER_HOUR = 10  # a new community's default rate
DAILY_CAP_MINUTES = 480  # a new community's default: more in one day needs an administrator's approval
ACTIVITIES = ("环境整治", "关爱老人", "治安巡逻", "文明劝导", "垃圾分类宣传", "义务理发")


class History:
    """A year of postings in time order, with the balance and version every wallet reaches and the
    domain records the service would have written for each (``service.demo_city_records``)."""

    def __init__(self, city, rng: random.Random, start: dt.datetime, first_id: int):
        """``city``: a ``demo_city.City``, built first."""
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
                  progress: Callable[[int], None] | None = None) -> bookload.BookLoader:
    """Generate ``transactions`` postings ``seconds`` apart on average and load them, a commit per
    chunk, then the stored balances; returns the loader (``rows`` written: transactions, entries,
    links; ``seconds`` its ``finish`` took)."""

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
    return loader


