"""At the counter: find the resident, redeem a basket (兑换), read baskets back.

Lock order, the same on every path so concurrent baskets, refunds and stock receipts never
deadlock: redemption lines (refunds only) → products in ascending id → ledger accounts in
ascending id (inside ``ledger.post``). Stock and refunded quantities move only by conditional
UPDATEs (``WHERE stock >= qty``), never read-modify-write, so they cannot go negative or be
refunded twice; any refusal raises, and the caller's unit of work rolls everything back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import Transaction, Unit
from ledger.models import utcnow

from ..auth.access import Principal
from ..auth.models import Role
from ..community.models import Supermarket
from ..community.operations import till_account
from ..errors import Conflict, Invalid, NotFound
from ..members.models import Household, Member
from ..members.operations import household_wallet, member_wallet
from ..privacy import mask_name
from ..rows import get_row
from . import stock
from .lines import problem, refuse_duplicates, resolve_products
from .models import Product, Redemption, RedemptionLine
from .scope import require_reader, scope_to_supermarkets, supermarket_for

PAID_FROM = ("member", "household")
# Basket problems that mean the request names something that cannot be sold here (422);
# the others are the state of stock or coins right now (409).
INPUT_PROBLEMS = {"unknown_sku", "unknown_product", "wrong_supermarket"}


# --- the resident ------------------------------------------------------------------------------


def find_residents(
    session: Session, supermarket: Supermarket, *, card_code: str | None = None, phone: str | None = None
) -> list[dict]:
    """Cashier look-up by card code (as the QR gives it) or phone: masked name and coins only."""
    if bool(card_code) == bool(phone):
        raise Invalid("give exactly one of card_code and phone", code="one_lookup_key_required")
    query = select(Member).where(Member.community_id == supermarket.community_id, Member.active.is_(True))
    query = query.where(Member.card_code == card_code) if card_code else query.where(Member.phone == phone)
    members = session.scalars(query.order_by(Member.id).limit(20)).all()
    if not members:
        raise NotFound("no resident of this community has that card or phone", code="member_not_found")
    return [resident_summary(session, member) for member in members]


def resident_summary(session: Session, member: Member) -> dict:
    household_coins = None
    if member.household_id:
        household_coins = _fresh_balance(session, household_wallet(session, session.get(Household, member.household_id)).id)
    return {
        "member_id": member.id,
        "masked_name": mask_name(member.name),
        "coins": _fresh_balance(session, member_wallet(session, member, Unit.COIN).id),
        "household_id": member.household_id,
        "household_coins": household_coins,
    }


def _fresh_balance(session: Session, account_id: int) -> int:
    # A column read, not the ORM object: postings update balances behind the identity map.
    return int(session.scalar(select(ledger.Account.balance).where(ledger.Account.id == account_id)))


# --- a basket ----------------------------------------------------------------------------------


@dataclass
class Basket:
    """Who pays, where, from which wallet: everything a basket is checked against."""

    supermarket: Supermarket
    member: Member
    paid_from: str
    wallet: ledger.Account
    household_id: int | None


def redeem(
    session: Session,
    principal: Principal,
    *,
    lines: list[dict],
    idempotency_key: str,
    supermarket_id: int | None = None,
    member_id: int | None = None,
    card_code: str | None = None,
    paid_from: str = "member",
    note: str = "",
    at: dt.datetime | None = None,
) -> Redemption:
    """Redeem one basket (兑换), all or nothing: coins wallet → till and stock down, or a refusal
    that names every failing line and writes nothing. Prices are the catalogue's at this moment."""
    existing = _already_redeemed(session, idempotency_key)
    if existing is not None:
        return existing
    basket = _open_basket(session, principal, supermarket_id, member_id, card_code, paid_from)
    if not lines:
        raise Invalid("the basket is empty", code="empty_basket")
    refuse_duplicates(lines)
    products = _check_lines(session, basket, lines)
    sold = _take_stock(session, products, lines)
    posted = _pay(session, principal, basket, sold, idempotency_key, note)
    return _write_redemption(session, principal, basket, sold, posted, note, at or utcnow())


def _already_redeemed(session: Session, idempotency_key: str) -> Redemption | None:
    return session.scalars(
        select(Redemption).join(Transaction, Transaction.id == Redemption.transaction_id).where(
            Transaction.idempotency_key == idempotency_key
        )
    ).first()


def _open_basket(session, principal, supermarket_id, member_id, card_code, paid_from) -> Basket:
    supermarket = supermarket_for(session, principal, supermarket_id)
    if not supermarket.active:
        raise Invalid("this supermarket is closed", code="supermarket_inactive")
    if (member_id is None) == (card_code is None):
        raise Invalid("name the resident by exactly one of member_id and card_code", code="one_resident_required")
    member = (
        session.get(Member, member_id)
        if member_id is not None
        else session.scalars(select(Member).where(Member.card_code == card_code)).first()
    )
    if member is None or member.community_id != supermarket.community_id:
        raise NotFound("no such resident in this supermarket's community", code="member_not_found")
    if not member.active:
        raise Invalid("this resident's card is deactivated", code="member_inactive")
    if paid_from == "household":
        if member.household_id is None:
            raise Invalid("this resident belongs to no household", code="no_household")
        wallet = household_wallet(session, session.get(Household, member.household_id))
        return Basket(supermarket, member, paid_from, wallet, member.household_id)
    if paid_from != "member":
        raise Invalid("paid_from is member or household", code="invalid_paid_from")
    return Basket(supermarket, member, paid_from, member_wallet(session, member, Unit.COIN), None)


def _check_lines(session: Session, basket: Basket, lines: list[dict]) -> list[Product]:
    """Every line against a plain read, so the cashier hears about all problems at once."""
    resolved = resolve_products(session, basket.supermarket, lines)
    problems, total = [], 0
    for index, ((product, found), line) in enumerate(zip(resolved, lines, strict=True)):
        found = found or _stock_problem(index, line, product)
        if found:
            problems.append(found)
        if product is not None:
            total += product.price * line["quantity"]
    balance = _fresh_balance(session, basket.wallet.id)
    wallet_problem = _coins_problem(basket.paid_from, balance, total) if balance < total else None
    if problems or wallet_problem:
        _refuse_basket(problems, wallet_problem)
    return [product for product, _ in resolved]


def _take_stock(session: Session, products: list[Product], lines: list[dict]) -> list[dict]:
    """Stock down under row locks, products in ascending id; the lines as sold, at locked prices."""
    taken: dict[int, stock.Taken] = {}
    problems = []
    for index in sorted(range(len(lines)), key=lambda i: products[i].id):
        product, line = products[index], lines[index]
        row = stock.take(session, product.id, line["quantity"])
        if row is None:  # lost a race since the plain read
            fresh = session.scalars(
                select(Product).where(Product.id == product.id).execution_options(populate_existing=True)
            ).one()
            problems.append(
                _stock_problem(index, line, fresh)
                or problem(index, line, "out_of_stock", "sold out meanwhile", fresh, available=fresh.stock)
            )
        else:
            taken[index] = row
    if problems:
        _refuse_basket(sorted(problems, key=lambda p: p["line"]), None)
    return [
        {
            "product_id": products[i].id, "sku": taken[i].sku, "name": taken[i].name, "unit": taken[i].unit,
            "quantity": lines[i]["quantity"], "unit_price": taken[i].price, "stock_after": taken[i].stock,
        }
        for i in range(len(lines))
    ]


def _pay(session, principal: Principal, basket: Basket, sold: list[dict], idempotency_key: str, note: str):
    """One ledger posting, wallet → till; a concurrent duplicate makes the unit of work rerun."""
    supermarket = basket.supermarket
    total = sum(s["quantity"] * s["unit_price"] for s in sold)
    till = till_account(session, supermarket)
    try:
        posted = ledger.post(
            session,
            lines=[ledger.Line(basket.wallet.id, -total), ledger.Line(till.id, total)],
            idempotency_key=idempotency_key,
            kind="redemption",
            community_id=supermarket.community_id,
            memo=note,
            actor_id=principal.staff_id,
            location=f"supermarket:{supermarket.id}",
            details={
                "description": f"{supermarket.name} 兑换: " + "、".join(f"{s['name']}×{s['quantity']}" for s in sold),
                "supermarket_id": supermarket.id,
                "member_id": basket.member.id,
                "paid_from": basket.paid_from,
                "lines": [
                    {"sku": s["sku"], "name": s["name"], "quantity": s["quantity"], "unit_price": s["unit_price"]}
                    for s in sold
                ],
            },
        )
    except ledger.InsufficientBalance as exc:
        _refuse_basket([], _coins_problem(basket.paid_from, exc.details.get("balance") or 0, total))
    if posted.replayed:
        # A concurrent duplicate committed first; re-running the unit of work returns its redemption.
        raise ledger.RetryableConflict("the same basket was redeemed concurrently")
    return posted


def _write_redemption(session, principal, basket: Basket, sold, posted, note, at) -> Redemption:
    supermarket = basket.supermarket
    redemption = Redemption(
        supermarket_id=supermarket.id,
        community_id=supermarket.community_id,
        member_id=basket.member.id,
        paid_from=basket.paid_from,
        household_id=basket.household_id,
        wallet_account_id=basket.wallet.id,
        transaction_id=posted.transaction_id,
        staff_id=principal.staff_id,
        total=sum(s["quantity"] * s["unit_price"] for s in sold),
        balance_after=posted.balances[basket.wallet.id],
        note=note,
        created_at=at,
    )
    session.add(redemption)
    session.flush()
    session.add_all(
        RedemptionLine(
            redemption_id=redemption.id, product_id=s["product_id"], sku=s["sku"], name=s["name"], unit=s["unit"],
            quantity=s["quantity"], unit_price=s["unit_price"], amount=s["quantity"] * s["unit_price"],
            refunded_quantity=0,
        )
        for s in sold
    )
    session.flush()
    stock.record_movements(
        session, supermarket_id=supermarket.id, reason="redemption", at=at, redemption_id=redemption.id,
        moved=[(s["product_id"], -s["quantity"], s["stock_after"]) for s in sold],
    )
    return redemption


# --- refusals ----------------------------------------------------------------------------------


def _stock_problem(index: int, line: dict, product: Product) -> dict | None:
    if not product.active:
        return problem(index, line, "inactive_product", "this product is not on sale", product)
    if product.stock < line["quantity"]:
        return problem(
            index, line, "out_of_stock",
            f"only {product.stock} {product.unit} in stock", product,
            available=product.stock, requested=line["quantity"],
        )
    return None


def _coins_problem(paid_from: str, balance: int, total: int) -> dict:
    wallet = "the household wallet" if paid_from == "household" else "the resident's wallet"
    return {
        "code": "insufficient_balance",
        "message": f"{wallet} holds {balance} coins, the basket costs {total}",
        "paid_from": paid_from,
        "balance": balance,
        "required": total,
    }


def _refuse_basket(line_problems: list[dict], wallet_problem: dict | None):
    parts = [f"line {p['line'] + 1} ({p['name'] or p['sku'] or p['product_id']}): {p['message']}" for p in line_problems]
    if wallet_problem:
        parts.append(wallet_problem["message"])
    error = Invalid if any(p["code"] in INPUT_PROBLEMS for p in line_problems) else Conflict
    raise error(
        "the basket cannot be redeemed, nothing was taken: " + "; ".join(parts),
        code="basket_refused",
        lines=line_problems,
        wallet=wallet_problem,
    )


# --- reading baskets back ----------------------------------------------------------------------


def get_redemption(session: Session, principal: Principal, redemption_id: int) -> Redemption:
    redemption = get_row(session, Redemption, redemption_id, what="redemption")
    if principal.role == Role.RESIDENT:
        if principal.member_id != redemption.member_id:
            raise NotFound("redemption not found")
        return redemption
    require_reader(principal, redemption.supermarket_id, redemption.community_id, what="redemption")
    return redemption


def list_redemptions(
    session: Session,
    principal: Principal,
    *,
    supermarket_id: int | None = None,
    member_id: int | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[Redemption]:
    """Newest first, keyset-paginated by id; residents see only their own baskets."""
    query = select(Redemption).order_by(Redemption.id.desc()).limit(limit)
    if principal.role == Role.RESIDENT:
        if member_id is not None and member_id != principal.member_id:
            raise NotFound("member not found")
        query = query.where(Redemption.member_id == principal.member_id)
        if supermarket_id is not None:
            query = query.where(Redemption.supermarket_id == supermarket_id)
    else:
        query = scope_to_supermarkets(query, Redemption, principal, supermarket_id, session)
        if member_id is not None:
            query = query.where(Redemption.member_id == member_id)
    if before is not None:
        query = query.where(Redemption.id < before)
    return list(session.scalars(query))

