"""Demo data for the love supermarkets: a stocked catalogue, stock receipts, months of baskets, refunds.

Runs after the earning domains (ORDER 40) so residents have coins to spend; everything goes through
the same operations as the API, inside the demo's one transaction, deterministic from ``ctx.rng``.
Ledger transactions carry the time they were generated; the supermarket records (baskets, receipts,
refunds) carry the back-dated time, so close-outs and daily totals show months of history.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

import ledger

from ..auth.access import Principal
from ..auth.models import Role
from ..errors import DomainError
from ..members.operations import household_wallet, member_wallet
from . import operations
from .models import Product

ORDER = 40

# sku, name, unit, price in coins, opening stock
CATALOGUE = [
    ("RICE10", "大米（10斤）", "袋", 60, 40),
    ("FLOUR5", "面粉（5斤）", "袋", 35, 30),
    ("OIL5", "食用油（5升）", "桶", 120, 20),
    ("SOY", "酱油", "瓶", 12, 40),
    ("SALT", "食盐", "袋", 5, 60),
    ("SUGAR", "白糖", "袋", 10, 30),
    ("EGG10", "鸡蛋（10枚）", "盒", 15, 30),
    ("NOODLE", "挂面", "把", 8, 50),
    ("DETERG", "洗衣粉", "袋", 18, 40),
    ("SOAP", "肥皂", "块", 6, 80),
    ("TPASTE", "牙膏", "支", 10, 50),
    ("TOWEL", "毛巾", "条", 12, 40),
    ("TISSUE", "卫生纸（10卷）", "提", 20, 30),
    ("DISH", "洗洁精", "瓶", 9, 40),
    ("NOTEBK", "作业本", "本", 5, 100),
    ("PENCIL", "铅笔（盒）", "盒", 8, 40),
    ("FLASK", "保温杯", "个", 45, 10),
    ("UMBREL", "雨伞", "把", 30, 12),
    ("SLIPPER", "拖鞋", "双", 15, 20),
    ("COOKER", "电饭煲", "台", 200, 3),
]
DONORS = ["县供销社", "爱心企业 云岭商贸", "乡贤 李建国", "县慈善总会", "驻村工作队"]
SUPPLIERS = ["县供销社", "镇上百货批发部"]
BASKETS_PER_SUPERMARKET = 30


def _cashier(ctx, supermarket) -> Principal:
    staff = next((s for s in ctx.staff.get("cashier", []) if s.supermarket_id == supermarket.id), None)
    if staff is None:
        return ctx.admin_principal(supermarket.community_id)
    return Principal(
        role=Role.CASHIER, staff_id=staff.id, community_id=supermarket.community_id,
        supermarket_id=supermarket.id, name=staff.name,
    )


def _balance(session, account_id: int) -> int:
    return int(session.scalar(select(ledger.Account.balance).where(ledger.Account.id == account_id)))


def generate(ctx) -> None:
    session, rng = ctx.session, ctx.rng
    days = max(ctx.months, 1) * 30
    for index, supermarket in enumerate(ctx.supermarkets):
        admin = ctx.admin_principal(supermarket.community_id)
        cashier = _cashier(ctx, supermarket)
        for sku, name, unit, price, _ in CATALOGUE:
            operations.create_product(
                session, admin, supermarket_id=supermarket.id, sku=sku, name=name, unit=unit, price=price
            )
        opened = ctx.now - dt.timedelta(days=days + 1)
        operations.receive_stock(
            session, cashier, supermarket_id=supermarket.id, kind="donation", source=rng.choice(DONORS),
            note="开业捐赠 opening donation",
            lines=[{"sku": sku, "quantity": stock} for sku, _, _, _, stock in CATALOGUE], at=opened,
        )
        restocks = sorted(ctx.past(days) for _ in range(4))
        for moment in restocks:
            kind = rng.choice(["donation", "purchase"])
            picked = rng.sample(CATALOGUE, rng.randint(3, 7))
            operations.receive_stock(
                session, cashier, supermarket_id=supermarket.id, kind=kind,
                source=rng.choice(DONORS if kind == "donation" else SUPPLIERS),
                note="补货 restock", lines=[{"sku": row[0], "quantity": rng.randint(5, 30)} for row in picked], at=moment,
            )
        made = _baskets(ctx, supermarket, cashier, days)
        _refund(ctx, cashier, made, whole=index % 2 == 1)


def _baskets(ctx, supermarket, cashier: Principal, days: int) -> list:
    session, rng = ctx.session, ctx.rng
    residents = [m for m in ctx.members if m.community_id == supermarket.community_id]
    households = {h.id: h for h in ctx.households}
    made = []
    for n, moment in enumerate(sorted(ctx.past(days) for _ in range(BASKETS_PER_SUPERMARKET))):
        if not residents:
            break
        for _attempt in range(6):  # look for a resident who has coins to spend
            member = rng.choice(residents)
            paid_from, wallet = "member", member_wallet(session, member, ledger.Unit.COIN)
            if member.household_id and rng.random() < 0.3:
                paid_from, wallet = "household", household_wallet(session, households[member.household_id])
            budget = _balance(session, wallet.id)
            if budget >= 5:
                break
        stock = dict(session.execute(select(Product.sku, Product.stock).where(
            Product.supermarket_id == supermarket.id, Product.active.is_(True))).all())
        lines = []
        for sku, _name, _unit, price, _ in rng.sample(CATALOGUE, len(CATALOGUE)):
            if len(lines) == 3:
                break
            quantity = rng.randint(1, 3)
            while quantity and (price * quantity > budget or quantity > stock.get(sku, 0)):
                quantity -= 1
            if quantity:
                lines.append({"sku": sku, "quantity": quantity})
                budget -= price * quantity
        if not lines:
            continue  # this resident has too few coins today
        try:
            with session.begin_nested(), ledger.posting_time(moment):
                made.append(operations.redeem(
                    session, cashier, supermarket_id=supermarket.id, member_id=member.id, paid_from=paid_from,
                    lines=lines, idempotency_key=f"demo:redemption:{supermarket.id}:{n}", at=moment,
                ))
        except (DomainError, ledger.LedgerError):
            continue  # skip rather than fail: the demo must always load
    return made


def _refund(ctx, cashier: Principal, made: list, *, whole: bool) -> None:
    candidates = [r for r in made if len(r.lines) > 1 or whole]
    if not candidates:
        return
    redemption = ctx.rng.choice(candidates)
    line = redemption.lines[0]
    refunded_at = redemption.created_at + dt.timedelta(minutes=ctx.rng.randint(5, 90))
    with ledger.posting_time(refunded_at):
        operations.refund_redemption(
            ctx.session, cashier, redemption_id=redemption.id,
            reason="商品破损，整单退回" if whole else "居民拿错了商品",
            idempotency_key=f"demo:refund:{redemption.id}",
            lines=None if whole else [{"line_id": line.id, "quantity": line.quantity}],
            at=refunded_at,
        )
