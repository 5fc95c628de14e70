"""The rules of the love supermarket (爱心超市): catalogue, stock, baskets, refunds, the cashier's day.

Lock order, the same on every path so concurrent baskets, refunds and stock receipts never
deadlock: redemption lines (refunds only) → products in ascending id → ledger accounts in
ascending id (inside ``ledger.post``). Stock and refunded quantities move only by conditional
UPDATEs (``WHERE stock >= qty``), never read-modify-write, so they cannot go negative or be
refunded twice; any refusal raises, and the caller's unit of work rolls everything back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from ledger import AccountType, Transaction, Unit
from ledger.models import utcnow
from ledger.verify import Discrepancy

from ..auth.access import Principal
from ..auth.models import Role, Staff
from ..community.models import Supermarket
from ..community.operations import till_account
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..members.models import Household, Member
from ..members.operations import household_wallet, member_wallet
from ..privacy import mask_name
from ..rows import get_row
from .models import (
    Product,
    Redemption,
    RedemptionLine,
    Refund,
    RefundLine,
    StockMovement,
    StockReceipt,
)

FEW_LEFT_AT = 5  # the resident catalogue shows "few_left" at or below this many units
RECEIPT_KINDS = ("donation", "purchase")
PAID_FROM = ("member", "household")
# Basket problems that mean the request names something that cannot be sold here (422);
# the others are the state of stock or coins right now (409).
INPUT_PROBLEMS = {"unknown_sku", "unknown_product", "wrong_supermarket"}
PRODUCT_FIELDS = ("sku", "name", "unit", "price", "active")


def local_zone() -> ZoneInfo:
    name = current_app.config.get("TIMEZONE", "Asia/Shanghai") if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


# --- places and people -------------------------------------------------------------------------


def get_supermarket(session: Session, supermarket_id: int) -> Supermarket:
    return get_row(session, Supermarket, supermarket_id, what="supermarket")


def supermarket_for(session: Session, principal: Principal, supermarket_id: int | None) -> Supermarket:
    """The supermarket a cashier or administrator acts for (a cashier's own by default)."""
    if supermarket_id is None:
        if principal.supermarket_id is None:
            raise Invalid("name the supermarket_id", code="supermarket_required")
        supermarket_id = principal.supermarket_id
    supermarket = get_supermarket(session, supermarket_id)
    principal.require_supermarket(supermarket.id, supermarket.community_id)
    return supermarket


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


def _resident_for_basket(session: Session, supermarket: Supermarket, member_id, card_code) -> Member:
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
    return member


def _paying_wallet(session: Session, member: Member, paid_from: str) -> tuple[ledger.Account, int | None]:
    if paid_from == "household":
        if member.household_id is None:
            raise Invalid("this resident belongs to no household", code="no_household")
        return household_wallet(session, session.get(Household, member.household_id)), member.household_id
    if paid_from != "member":
        raise Invalid("paid_from is member or household", code="invalid_paid_from")
    return member_wallet(session, member, Unit.COIN), None


# --- catalogue ---------------------------------------------------------------------------------


def get_product(session: Session, product_id: int) -> Product:
    return get_row(session, Product, product_id, what="product")


def _sku_taken(session: Session, supermarket_id: int, sku: str, except_id: int | None = None) -> bool:
    query = select(Product.id).where(Product.supermarket_id == supermarket_id, Product.sku == sku)
    if except_id is not None:
        query = query.where(Product.id != except_id)
    return session.scalars(query).first() is not None


def create_product(session: Session, principal: Principal, *, supermarket_id: int, **fields) -> Product:
    """Add a catalogue item (administrators); stock starts at 0 and comes in by stock receipts."""
    supermarket = get_supermarket(session, supermarket_id)
    principal.require_admin_of(supermarket.community_id)
    if _sku_taken(session, supermarket.id, fields["sku"]):
        raise Conflict("this SKU is already in the supermarket's catalogue", code="sku_taken", sku=fields["sku"])
    product = Product(
        supermarket_id=supermarket.id,
        community_id=supermarket.community_id,
        stock=0,
        **{k: v for k, v in fields.items() if k in PRODUCT_FIELDS},
    )
    session.add(product)
    session.flush()
    return product


def update_product(session: Session, principal: Principal, product_id: int, changes: dict) -> Product:
    """Rename, reprice, (de)activate; past redemption lines keep the price they were sold at."""
    product = get_product(session, product_id)
    principal.require_admin_of(product.community_id)
    if "sku" in changes and _sku_taken(session, product.supermarket_id, changes["sku"], product.id):
        raise Conflict("this SKU is already in the supermarket's catalogue", code="sku_taken", sku=changes["sku"])
    for key, value in changes.items():
        if key in PRODUCT_FIELDS:
            setattr(product, key, value)
    product.updated_at = utcnow()
    session.flush()
    return product


def list_products(
    session: Session, principal: Principal, *, supermarket_id: int | None = None, include_inactive: bool = False
) -> list[Product]:
    query = select(Product).order_by(Product.supermarket_id, Product.sku)
    if supermarket_id is not None:
        principal.require_community(get_supermarket(session, supermarket_id).community_id, what="supermarket")
        query = query.where(Product.supermarket_id == supermarket_id)
    elif not principal.is_city_admin:
        query = query.where(Product.community_id == principal.community_id)
    if principal.role == Role.CASHIER:
        query = query.where(Product.supermarket_id == principal.supermarket_id)
    if not include_inactive:
        query = query.where(Product.active.is_(True))
    return list(session.scalars(query.limit(2000)))


def availability(stock: int) -> str:
    if stock <= 0:
        return "out"
    return "few_left" if stock <= FEW_LEFT_AT else "in_stock"


def catalogue(session: Session, principal: Principal, *, supermarket_id: int | None = None) -> list[dict]:
    """Active products of the active supermarkets the caller's community has, without exact stock."""
    query = (
        select(Product, Supermarket.name)
        .join(Supermarket, Supermarket.id == Product.supermarket_id)
        .where(Product.active.is_(True), Supermarket.active.is_(True))
        .order_by(Product.supermarket_id, Product.name, Product.id)
    )
    if supermarket_id is not None:
        principal.require_community(get_supermarket(session, supermarket_id).community_id, what="supermarket")
        query = query.where(Product.supermarket_id == supermarket_id)
    elif not principal.is_city_admin:
        query = query.where(Product.community_id == principal.community_id)
    return [
        {
            "product_id": product.id,
            "supermarket_id": product.supermarket_id,
            "supermarket_name": supermarket_name,
            "sku": product.sku,
            "name": product.name,
            "unit": product.unit,
            "price": product.price,
            "availability": availability(product.stock),
        }
        for product, supermarket_name in session.execute(query.limit(2000))
    ]


# --- resolving basket and receipt lines --------------------------------------------------------


def _line_label(line: dict) -> str:
    return f"SKU {line['sku']}" if line.get("sku") else f"product {line.get('product_id')}"


def _refuse_duplicates(lines: list[dict], key) -> None:
    seen: dict = {}
    repeated = []
    for index, line in enumerate(lines):
        k = key(line)
        if k in seen:
            repeated.append({"line": index, "same_as_line": seen[k], "item": str(k[1])})
        else:
            seen[k] = index
    if repeated:
        raise Invalid(
            "the same item appears on more than one line; put the total quantity on one line",
            code="duplicate_lines",
            lines=repeated,
        )


def _resolve_products(session: Session, supermarket: Supermarket, lines: list[dict]) -> list[tuple[Product | None, dict | None]]:
    """For each line, its product in this supermarket, or a problem saying why there is none."""
    skus = [ln["sku"] for ln in lines if ln.get("sku")]
    ids = [ln["product_id"] for ln in lines if ln.get("product_id")]
    fresh = {"populate_existing": True}  # stock moves by UPDATEs behind the identity map
    by_sku = {
        p.sku: p
        for p in session.scalars(
            select(Product)
            .where(Product.supermarket_id == supermarket.id, Product.sku.in_(skus))
            .execution_options(**fresh)
        )
    } if skus else {}
    by_id = (
        {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)).execution_options(**fresh))}
        if ids
        else {}
    )
    resolved = []
    for index, line in enumerate(lines):
        if (line.get("sku") is None) == (line.get("product_id") is None):
            raise Invalid("each line names exactly one of sku and product_id", code="one_item_key_required", line=index)
        if line.get("sku"):
            product = by_sku.get(line["sku"])
            if product is None:
                resolved.append((None, _problem(index, line, "unknown_sku", "no product with this SKU here")))
                continue
        else:
            product = by_id.get(line["product_id"])
            if product is None:
                resolved.append((None, _problem(index, line, "unknown_product", "no such product")))
                continue
            if product.supermarket_id != supermarket.id:
                resolved.append(
                    (None, _problem(index, line, "wrong_supermarket", "this product belongs to another supermarket"))
                )
                continue
        resolved.append((product, None))
    _refuse_duplicates(
        [{"sku": None, "product_id": p.id if p else -i} for i, (p, _) in enumerate(resolved)], _item_key
    )
    return resolved


def _problem(index: int, line: dict, code: str, message: str, product: Product | None = None, **extra) -> dict:
    return {
        "line": index,
        "sku": product.sku if product else line.get("sku"),
        "product_id": product.id if product else line.get("product_id"),
        "name": product.name if product else None,
        "quantity": line.get("quantity"),
        "code": code,
        "message": message,
        **extra,
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


def _stock_problem(index: int, line: dict, product: Product) -> dict | None:
    if not product.active:
        return _problem(index, line, "inactive_product", "this product is not on sale", product)
    if product.stock < line["quantity"]:
        return _problem(
            index, line, "out_of_stock",
            f"only {product.stock} {product.unit} in stock", product,
            available=product.stock, requested=line["quantity"],
        )
    return None


def _take_stock(session: Session, product_id: int, quantity: int):
    """Conditional decrement: succeeds only while the product is active and has enough stock."""
    table = Product.__table__
    return session.execute(
        table.update()
        .where(table.c.id == product_id, table.c.active.is_(True), table.c.stock >= quantity)
        .values(stock=table.c.stock - quantity)
        .returning(table.c.stock, table.c.price, table.c.sku, table.c.name, table.c.unit)
    ).first()


def _put_stock(session: Session, product_id: int, quantity: int) -> int:
    table = Product.__table__
    return session.execute(
        table.update().where(table.c.id == product_id).values(stock=table.c.stock + quantity).returning(table.c.stock)
    ).scalar_one()


def _fresh_products(session: Session, ids) -> dict[int, Product]:
    rows = session.scalars(
        select(Product).where(Product.id.in_(list(ids))).execution_options(populate_existing=True)
    )
    return {p.id: p for p in rows}


# --- stock receipts ----------------------------------------------------------------------------


def receive_stock(
    session: Session,
    principal: Principal,
    *,
    supermarket_id: int,
    kind: str,
    source: str,
    lines: list[dict],
    note: str = "",
    at: dt.datetime | None = None,
) -> StockReceipt:
    """Goods in (入库), by a cashier of the supermarket or an administrator: stock up, one movement per line."""
    supermarket = get_supermarket(session, supermarket_id)
    principal.require_supermarket(supermarket.id, supermarket.community_id)
    if kind not in RECEIPT_KINDS:
        raise Invalid("kind is donation or purchase", code="invalid_receipt_kind")
    if not lines:
        raise Invalid("a stock receipt needs at least one line", code="empty_receipt")
    _refuse_duplicates(lines, _item_key)
    resolved = _resolve_products(session, supermarket, lines)
    problems = [problem for _product, problem in resolved if problem]
    if problems:
        raise Invalid("the stock receipt names products that are not in this supermarket", code="receipt_refused", lines=problems)
    at = at or utcnow()
    receipt = StockReceipt(
        supermarket_id=supermarket.id,
        community_id=supermarket.community_id,
        kind=kind,
        source=source,
        note=note,
        staff_id=principal.staff_id,
        created_at=at,
    )
    session.add(receipt)
    session.flush()
    quantities = {product.id: line["quantity"] for (product, _), line in zip(resolved, lines, strict=True)}
    for product_id in sorted(quantities):
        stock_after = _put_stock(session, product_id, quantities[product_id])
        session.add(
            StockMovement(
                product_id=product_id, supermarket_id=supermarket.id, reason="receipt",
                quantity=quantities[product_id], stock_after=stock_after, stock_receipt_id=receipt.id, created_at=at,
            )
        )
    session.flush()
    return receipt


def _item_key(line: dict):
    return ("sku", line["sku"]) if line.get("sku") else ("product", line.get("product_id"))


def get_stock_receipt(session: Session, principal: Principal, receipt_id: int) -> StockReceipt:
    receipt = get_row(session, StockReceipt, receipt_id, what="stock receipt")
    _require_reader_of_supermarket(principal, receipt.supermarket_id, receipt.community_id, what="stock receipt")
    return receipt


def list_stock_receipts(
    session: Session, principal: Principal, *, supermarket_id: int | None = None, limit: int = 50, before: int | None = None
) -> list[StockReceipt]:
    query = select(StockReceipt).order_by(StockReceipt.id.desc()).limit(limit)
    query = _scope_to_supermarkets(query, StockReceipt, principal, supermarket_id, session)
    if before is not None:
        query = query.where(StockReceipt.id < before)
    return list(session.scalars(query))


def stock_receipt_view(receipt: StockReceipt) -> dict:
    return {
        "id": receipt.id,
        "supermarket_id": receipt.supermarket_id,
        "kind": receipt.kind,
        "source": receipt.source,
        "note": receipt.note,
        "staff_id": receipt.staff_id,
        "created_at": receipt.created_at,
        "lines": [
            {"product_id": m.product_id, "quantity": m.quantity, "stock_after": m.stock_after}
            for m in receipt.movements
        ],
    }


# --- scope helpers -----------------------------------------------------------------------------


def _require_reader_of_supermarket(principal: Principal, supermarket_id: int, community_id: int, *, what: str) -> None:
    """Cashiers read their own supermarket's records; administrators and supervisors their community's."""
    principal.require_community(community_id, what=what)
    if principal.role == Role.CASHIER and principal.supermarket_id != supermarket_id:
        raise NotFound(f"{what} not found")
    if principal.role in (Role.STATION_STAFF, Role.RESIDENT):
        raise NotFound(f"{what} not found")


def _scope_to_supermarkets(query, model, principal: Principal, supermarket_id: int | None, session: Session):
    if supermarket_id is not None:
        supermarket = get_supermarket(session, supermarket_id)
        _require_reader_of_supermarket(principal, supermarket.id, supermarket.community_id, what="supermarket")
        return query.where(model.supermarket_id == supermarket_id)
    if principal.role == Role.CASHIER:
        return query.where(model.supermarket_id == principal.supermarket_id)
    if not principal.is_city_admin:
        return query.where(model.community_id == principal.community_id)
    return query


# --- redemptions -------------------------------------------------------------------------------


def _already_posted(session: Session, model, idempotency_key: str):
    return session.scalars(
        select(model).join(Transaction, Transaction.id == model.transaction_id).where(
            Transaction.idempotency_key == idempotency_key
        )
    ).first()


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
    existing = _already_posted(session, Redemption, idempotency_key)
    if existing is not None:
        return existing
    supermarket = supermarket_for(session, principal, supermarket_id)
    if not supermarket.active:
        raise Invalid("this supermarket is closed", code="supermarket_inactive")
    member = _resident_for_basket(session, supermarket, member_id, card_code)
    wallet, household_id = _paying_wallet(session, member, paid_from)
    if not lines:
        raise Invalid("the basket is empty", code="empty_basket")
    _refuse_duplicates(lines, _item_key)

    # 1. Validate every line against a plain read, so the cashier hears about all problems at once.
    resolved = _resolve_products(session, supermarket, lines)
    problems, total = [], 0
    for index, ((product, problem), line) in enumerate(zip(resolved, lines, strict=True)):
        problem = problem or _stock_problem(index, line, product)
        if problem:
            problems.append(problem)
        if product is not None:
            total += product.price * line["quantity"]
    balance = _fresh_balance(session, wallet.id)
    wallet_problem = _coins_problem(paid_from, balance, total) if balance < total else None
    if problems or wallet_problem:
        _refuse_basket(problems, wallet_problem)

    # 2. Take stock under row locks, products in ascending id (see the module's lock order).
    order = sorted(range(len(lines)), key=lambda i: resolved[i][0].id)
    taken: dict[int, tuple] = {}
    for index in order:
        product, line = resolved[index][0], lines[index]
        row = _take_stock(session, product.id, line["quantity"])
        if row is None:  # lost a race since step 1
            fresh = _fresh_products(session, [product.id])[product.id]
            problems.append(
                _stock_problem(index, line, fresh)
                or _problem(index, line, "out_of_stock", "sold out meanwhile", fresh, available=fresh.stock)
            )
        else:
            taken[index] = row
    if problems:
        _refuse_basket(sorted(problems, key=lambda p: p["line"]), None)

    # 3. Coins, at the prices read under the lock.
    sold = [
        {
            "product_id": resolved[i][0].id, "sku": taken[i].sku, "name": taken[i].name, "unit": taken[i].unit,
            "quantity": lines[i]["quantity"], "unit_price": taken[i].price, "stock_after": taken[i].stock,
        }
        for i in range(len(lines))
    ]
    total = sum(s["quantity"] * s["unit_price"] for s in sold)
    till = till_account(session, supermarket)
    try:
        posted = ledger.post(
            session,
            lines=[ledger.Line(wallet.id, -total), ledger.Line(till.id, total)],
            idempotency_key=idempotency_key,
            kind="redemption",
            community_id=supermarket.community_id,
            memo=note,
            actor_id=principal.staff_id,
            location=f"supermarket:{supermarket.id}",
            details={
                "description": f"{supermarket.name} 兑换: " + "、".join(f"{s['name']}×{s['quantity']}" for s in sold),
                "supermarket_id": supermarket.id,
                "member_id": member.id,
                "paid_from": paid_from,
                "lines": [
                    {"sku": s["sku"], "name": s["name"], "quantity": s["quantity"], "unit_price": s["unit_price"]}
                    for s in sold
                ],
            },
        )
    except ledger.InsufficientBalance as exc:
        _refuse_basket([], _coins_problem(paid_from, exc.details.get("balance") or 0, total))
    if posted.replayed:
        # A concurrent duplicate committed first; re-running the unit of work returns its redemption.
        raise ledger.RetryableConflict("the same basket was redeemed concurrently")

    at = at or utcnow()
    redemption = Redemption(
        supermarket_id=supermarket.id,
        community_id=supermarket.community_id,
        member_id=member.id,
        paid_from=paid_from,
        household_id=household_id,
        wallet_account_id=wallet.id,
        transaction_id=posted.transaction_id,
        staff_id=principal.staff_id,
        total=total,
        balance_after=posted.balances[wallet.id],
        note=note,
        created_at=at,
    )
    session.add(redemption)
    session.flush()
    for s in sold:
        session.add(
            RedemptionLine(
                redemption_id=redemption.id, product_id=s["product_id"], sku=s["sku"], name=s["name"], unit=s["unit"],
                quantity=s["quantity"], unit_price=s["unit_price"], amount=s["quantity"] * s["unit_price"],
                refunded_quantity=0,
            )
        )
        session.add(
            StockMovement(
                product_id=s["product_id"], supermarket_id=supermarket.id, reason="redemption",
                quantity=-s["quantity"], stock_after=s["stock_after"], redemption_id=redemption.id, created_at=at,
            )
        )
    session.flush()
    return redemption


def _coins_problem(paid_from: str, balance: int, total: int) -> dict:
    wallet = "the household wallet" if paid_from == "household" else "the resident's wallet"
    return {
        "code": "insufficient_balance",
        "message": f"{wallet} holds {balance} coins, the basket costs {total}",
        "paid_from": paid_from,
        "balance": balance,
        "required": total,
    }


def get_redemption(session: Session, principal: Principal, redemption_id: int) -> Redemption:
    redemption = get_row(session, Redemption, redemption_id, what="redemption")
    if principal.role == Role.RESIDENT:
        if principal.member_id != redemption.member_id:
            raise NotFound("redemption not found")
        return redemption
    _require_reader_of_supermarket(principal, redemption.supermarket_id, redemption.community_id, what="redemption")
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
        query = _scope_to_supermarkets(query, Redemption, principal, supermarket_id, session)
        if member_id is not None:
            query = query.where(Redemption.member_id == member_id)
    if before is not None:
        query = query.where(Redemption.id < before)
    return list(session.scalars(query))


def redemption_view(session: Session, redemption: Redemption) -> dict:
    member = session.get(Member, redemption.member_id)
    refunds = session.scalars(
        select(Refund).where(Refund.redemption_id == redemption.id).order_by(Refund.id)
    ).all()
    refunded_total = sum(r.total for r in refunds)
    status = "completed" if not refunds else ("refunded" if refunded_total == redemption.total else "partly_refunded")
    return {
        "id": redemption.id,
        "number": redemption.number,
        "supermarket_id": redemption.supermarket_id,
        "member_id": redemption.member_id,
        "resident": mask_name(member.name),
        "paid_from": redemption.paid_from,
        "household_id": redemption.household_id,
        "transaction_id": redemption.transaction_id,
        "staff_id": redemption.staff_id,
        "total": redemption.total,
        "balance_after": redemption.balance_after,
        "refunded_total": refunded_total,
        "status": status,
        "note": redemption.note,
        "created_at": redemption.created_at,
        "lines": [
            {
                "id": ln.id, "product_id": ln.product_id, "sku": ln.sku, "name": ln.name, "unit": ln.unit,
                "quantity": ln.quantity, "unit_price": ln.unit_price, "amount": ln.amount,
                "refunded_quantity": ln.refunded_quantity,
            }
            for ln in redemption.lines
        ],
        "refunds": [refund_summary(r) for r in refunds],
    }


def refund_summary(refund: Refund) -> dict:
    return {
        "id": refund.id,
        "number": refund.number,
        "redemption_id": refund.redemption_id,
        "transaction_id": refund.transaction_id,
        "staff_id": refund.staff_id,
        "reason": refund.reason,
        "whole": refund.whole,
        "total": refund.total,
        "balance_after": refund.balance_after,
        "created_at": refund.created_at,
        "lines": [
            {
                "redemption_line_id": ln.redemption_line_id, "product_id": ln.product_id, "sku": ln.sku,
                "name": ln.name, "quantity": ln.quantity, "unit_price": ln.unit_price, "amount": ln.amount,
            }
            for ln in refund.lines
        ],
    }


# --- refunds -----------------------------------------------------------------------------------


def refund_redemption(
    session: Session,
    principal: Principal,
    *,
    redemption_id: int,
    reason: str,
    idempotency_key: str,
    lines: list[dict] | None = None,
    at: dt.datetime | None = None,
) -> Refund:
    """Refund a whole basket or some lines (退货), by a cashier of that supermarket or an
    administrator: coins till → the wallet that paid, stock back up. No line is refunded twice."""
    existing = _already_posted(session, Refund, idempotency_key)
    if existing is not None:
        return existing
    redemption = get_row(session, Redemption, redemption_id, what="redemption")
    principal.require_supermarket(redemption.supermarket_id, redemption.community_id)
    if not reason or not reason.strip():
        raise Invalid("a refund needs a reason", code="reason_required")
    current = {
        ln.id: ln
        for ln in session.scalars(
            select(RedemptionLine)
            .where(RedemptionLine.redemption_id == redemption.id)
            .execution_options(populate_existing=True)
        )
    }
    whole = lines is None
    if whole:
        wanted = {i: ln.quantity - ln.refunded_quantity for i, ln in current.items() if ln.quantity > ln.refunded_quantity}
        if not wanted:
            raise Conflict("this redemption has been refunded in full already", code="already_refunded")
    else:
        if not lines:
            raise Invalid("name at least one line to refund, or omit lines for the whole basket", code="empty_refund")
        _refuse_duplicates(lines, lambda ln: ("line", ln["line_id"]))
        problems = []
        for index, line in enumerate(lines):
            found = current.get(line["line_id"])
            if found is None:
                problems.append({"line": index, "line_id": line["line_id"], "code": "unknown_line",
                                 "message": "this line is not part of the redemption"})
            elif line["quantity"] > found.quantity - found.refunded_quantity:
                remaining = found.quantity - found.refunded_quantity
                problems.append({
                    "line": index, "line_id": found.id, "sku": found.sku, "name": found.name,
                    "code": "line_already_refunded" if remaining == 0 else "refund_exceeds_quantity",
                    "message": f"{remaining} of {found.quantity} can still be refunded",
                    "refundable": remaining, "requested": line["quantity"],
                })
        if problems:
            _refuse_refund(problems)
        wanted = {line["line_id"]: line["quantity"] for line in lines}
    untouched = whole and all(ln.refunded_quantity == 0 for ln in current.values())

    # Lines first (a conditional update that can never pass the sold quantity), then products.
    lost = []
    for line_id in sorted(wanted):
        table = RedemptionLine.__table__
        row = session.execute(
            table.update()
            .where(table.c.id == line_id, table.c.refunded_quantity + wanted[line_id] <= table.c.quantity)
            .values(refunded_quantity=table.c.refunded_quantity + wanted[line_id])
            .returning(table.c.id)
        ).first()
        if row is None:
            lost.append({"line_id": line_id, "code": "line_already_refunded",
                         "message": "refunded meanwhile by another request"})
    if lost:
        _refuse_refund(lost)

    refunded = [(current[i], wanted[i]) for i in sorted(wanted)]
    total = sum(ln.unit_price * q for ln, q in refunded)
    at = at or utcnow()
    stock_after = {}
    for line, quantity in sorted(refunded, key=lambda r: r[0].product_id):
        stock_after[line.id] = _put_stock(session, line.product_id, quantity)

    supermarket = get_supermarket(session, redemption.supermarket_id)
    till = till_account(session, supermarket)
    details = {
        "description": f"{supermarket.name} 退货 {redemption.number}: "
        + "、".join(f"{ln.name}×{q}" for ln, q in refunded),
        "reason": reason,
        "redemption_id": redemption.id,
        "lines": [{"sku": ln.sku, "name": ln.name, "quantity": q, "unit_price": ln.unit_price} for ln, q in refunded],
    }
    if untouched:
        posted = ledger.reverse(
            session, transaction_id=redemption.transaction_id, idempotency_key=idempotency_key, memo=reason,
            actor_id=principal.staff_id, location=f"supermarket:{supermarket.id}", details=details,
        )
    else:
        posted = ledger.post(
            session,
            lines=[ledger.Line(till.id, -total), ledger.Line(redemption.wallet_account_id, total)],
            idempotency_key=idempotency_key,
            kind="redemption_refund",
            community_id=redemption.community_id,
            memo=reason,
            actor_id=principal.staff_id,
            location=f"supermarket:{supermarket.id}",
            details=details,
            related_id=redemption.transaction_id,
        )
    if posted.replayed:
        raise ledger.RetryableConflict("the same refund was made concurrently")

    refund = Refund(
        redemption_id=redemption.id,
        supermarket_id=redemption.supermarket_id,
        community_id=redemption.community_id,
        transaction_id=posted.transaction_id,
        staff_id=principal.staff_id,
        reason=reason,
        whole=whole,
        total=total,
        balance_after=posted.balances[redemption.wallet_account_id],
        created_at=at,
    )
    session.add(refund)
    session.flush()
    for line, quantity in refunded:
        session.add(
            RefundLine(
                refund_id=refund.id, redemption_line_id=line.id, product_id=line.product_id, sku=line.sku,
                name=line.name, quantity=quantity, unit_price=line.unit_price, amount=line.unit_price * quantity,
            )
        )
        session.add(
            StockMovement(
                product_id=line.product_id, supermarket_id=redemption.supermarket_id, reason="refund",
                quantity=quantity, stock_after=stock_after[line.id], refund_id=refund.id, created_at=at,
            )
        )
    session.flush()
    for line in current.values():
        session.expire(line)  # refunded quantities moved behind the identity map
    return refund


def _refuse_refund(problems: list[dict]):
    error = Invalid if any(p["code"] == "unknown_line" for p in problems) else Conflict
    raise error("the refund cannot be made, nothing was changed", code="refund_refused", lines=problems)


def get_refund(session: Session, principal: Principal, refund_id: int) -> Refund:
    refund = get_row(session, Refund, refund_id, what="refund")
    get_redemption(session, principal, refund.redemption_id)  # same visibility as its basket
    return refund


# --- receipts ----------------------------------------------------------------------------------


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(local_zone())


def _staff_name(session: Session, staff_id: int | None) -> str | None:
    return session.scalar(select(Staff.name).where(Staff.id == staff_id)) if staff_id else None


def _line_view(line: RedemptionLine | RefundLine) -> dict:
    """What receipts and close-outs show of a basket or refund line."""
    return {"sku": line.sku, "name": line.name, "quantity": line.quantity, "unit_price": line.unit_price,
            "amount": line.amount}


def redemption_receipt(session: Session, redemption: Redemption) -> dict:
    """What the printed receipt shows: no name beyond the masked one, no phone, no card code."""
    supermarket = get_supermarket(session, redemption.supermarket_id)
    member = session.get(Member, redemption.member_id)
    return {
        "kind": "redemption",
        "number": redemption.number,
        "supermarket": supermarket.name,
        "time": _local(redemption.created_at),
        "cashier": _staff_name(session, redemption.staff_id),
        "resident": mask_name(member.name),
        "paid_from": redemption.paid_from,
        "lines": [{**_line_view(ln), "unit": ln.unit} for ln in redemption.lines],
        "total": redemption.total,
        "balance_after": redemption.balance_after,
        "transaction_id": redemption.transaction_id,
        "redemption_number": None,
        "reason": None,
    }


def refund_receipt(session: Session, refund: Refund) -> dict:
    redemption = session.get(Redemption, refund.redemption_id)
    supermarket = get_supermarket(session, refund.supermarket_id)
    member = session.get(Member, redemption.member_id)
    units = {ln.id: ln.unit for ln in redemption.lines}
    return {
        "kind": "refund",
        "number": refund.number,
        "supermarket": supermarket.name,
        "time": _local(refund.created_at),
        "cashier": _staff_name(session, refund.staff_id),
        "resident": mask_name(member.name),
        "paid_from": redemption.paid_from,
        "lines": [{**_line_view(ln), "unit": units.get(ln.redemption_line_id, "件")} for ln in refund.lines],
        "total": refund.total,
        "balance_after": refund.balance_after,
        "transaction_id": refund.transaction_id,
        "redemption_number": redemption.number,
        "reason": refund.reason,
    }


# --- the cashier's day -------------------------------------------------------------------------


def default_period(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Today so far in local time: the usual shift close-out."""
    now = now or utcnow()
    start = _local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(dt.UTC), now


def close_out(
    session: Session,
    principal: Principal,
    *,
    supermarket_id: int,
    cashier_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict:
    """Shift close-out (交班): one cashier's redemptions and refunds in a period, coins taken and
    goods handed out per SKU. Cashiers close out their own shift; administrators and supervisors any."""
    supermarket = get_supermarket(session, supermarket_id)
    _require_reader_of_supermarket(principal, supermarket.id, supermarket.community_id, what="supermarket")
    if principal.role == Role.CASHIER:
        if cashier_id not in (None, principal.staff_id):
            raise Forbidden("a cashier closes out only their own shift")
        cashier_id = principal.staff_id
    if cashier_id is None:
        raise Invalid("name the cashier_id", code="cashier_required")
    cashier = session.get(Staff, cashier_id)
    if cashier is None or cashier.community_id not in (None, supermarket.community_id):
        raise NotFound("cashier not found")
    start, end = _period(start, end)
    redemptions = session.scalars(
        select(Redemption)
        .where(Redemption.supermarket_id == supermarket.id, Redemption.staff_id == cashier.id)
        .where(Redemption.created_at >= start, Redemption.created_at < end)
        .order_by(Redemption.id)
    ).all()
    refunds = session.scalars(
        select(Refund)
        .where(Refund.supermarket_id == supermarket.id, Refund.staff_id == cashier.id)
        .where(Refund.created_at >= start, Refund.created_at < end)
        .order_by(Refund.id)
    ).all()
    goods: dict[tuple[str, str], dict] = {}
    for documents, column, sign in ((redemptions, "out", 1), (refunds, "returned", -1)):
        for ln in (ln for document in documents for ln in document.lines):
            row = goods.setdefault((ln.sku, ln.name), {"sku": ln.sku, "name": ln.name, "out": 0, "returned": 0, "coins": 0})
            row[column] += ln.quantity
            row["coins"] += sign * ln.amount
    coins_taken = sum(r.total for r in redemptions)
    coins_refunded = sum(r.total for r in refunds)
    members = _masked_names(session, {r.member_id for r in redemptions})
    redemption_members = dict(
        session.execute(
            select(Redemption.id, Redemption.member_id).where(Redemption.id.in_({r.redemption_id for r in refunds}))
        ).all()
    ) if refunds else {}
    members.update(_masked_names(session, set(redemption_members.values()) - set(members)))
    return {
        "supermarket_id": supermarket.id,
        "supermarket": supermarket.name,
        "cashier_id": cashier.id,
        "cashier": cashier.name,
        "start": _local(start),
        "end": _local(end),
        "redemption_count": len(redemptions),
        "refund_count": len(refunds),
        "coins_taken": coins_taken,
        "coins_refunded": coins_refunded,
        "net_coins": coins_taken - coins_refunded,
        "goods": [{**row, "net": row["out"] - row["returned"]} for _, row in sorted(goods.items())],
        "redemptions": [
            {"id": r.id, "number": r.number, "time": _local(r.created_at), "resident": members[r.member_id],
             "total": r.total, "lines": [_line_view(ln) for ln in r.lines]}
            for r in redemptions
        ],
        "refunds": [
            {"id": r.id, "number": r.number, "time": _local(r.created_at),
             "resident": members[redemption_members[r.redemption_id]], "total": r.total, "reason": r.reason,
             "lines": [_line_view(ln) for ln in r.lines]}
            for r in refunds
        ],
    }


def _masked_names(session: Session, member_ids: set[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    return {i: mask_name(n) for i, n in session.execute(select(Member.id, Member.name).where(Member.id.in_(member_ids)))}


MAX_PERIOD = dt.timedelta(days=366)
# Reports cover days in this range; beyond it local/UTC conversions overflow the calendar.
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def _within_calendar(*days: dt.date) -> None:
    if any(not FIRST_DAY <= day <= LAST_DAY for day in days):
        raise Invalid(f"dates run from {FIRST_DAY} to {LAST_DAY}", code="invalid_period")


def _period(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    default_start, default_end = default_period()
    start, end = start or default_start, end or default_end
    _within_calendar(start.date(), end.date())
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if end <= start:
        raise Invalid("the period must end after it starts", code="invalid_period")
    if end - start > MAX_PERIOD:
        raise Invalid("a period is at most 366 days", code="invalid_period")
    return start, end


def daily_totals(
    session: Session, principal: Principal, *, supermarket_id: int, first_day: dt.date | None = None, last_day: dt.date | None = None
) -> dict:
    """A supermarket's totals per local day: baskets, coins in, refunds, coins back, goods out."""
    supermarket = get_supermarket(session, supermarket_id)
    _require_reader_of_supermarket(principal, supermarket.id, supermarket.community_id, what="supermarket")
    zone = local_zone()
    today = _local(utcnow()).date()
    last_day = last_day or today
    first_day = first_day or last_day.replace(day=1)
    _within_calendar(first_day, last_day)
    if last_day < first_day or (last_day - first_day).days > 366:
        raise Invalid("give first_day <= last_day, at most 366 days apart", code="invalid_period")
    start = dt.datetime.combine(first_day, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    days: dict[dt.date, dict] = defaultdict(
        lambda: {"redemptions": 0, "coins_taken": 0, "refunds": 0, "coins_refunded": 0, "items_out": 0, "items_returned": 0}
    )
    for created_at, total, items in session.execute(
        select(Redemption.created_at, Redemption.total, func.sum(RedemptionLine.quantity))
        .join(RedemptionLine, RedemptionLine.redemption_id == Redemption.id)
        .where(Redemption.supermarket_id == supermarket.id, Redemption.created_at >= start, Redemption.created_at < end)
        .group_by(Redemption.id, Redemption.created_at, Redemption.total)
    ):
        day = days[_local(created_at).date()]
        day["redemptions"] += 1
        day["coins_taken"] += int(total)
        day["items_out"] += int(items)
    for created_at, total, items in session.execute(
        select(Refund.created_at, Refund.total, func.sum(RefundLine.quantity))
        .join(RefundLine, RefundLine.refund_id == Refund.id)
        .where(Refund.supermarket_id == supermarket.id, Refund.created_at >= start, Refund.created_at < end)
        .group_by(Refund.id, Refund.created_at, Refund.total)
    ):
        day = days[_local(created_at).date()]
        day["refunds"] += 1
        day["coins_refunded"] += int(total)
        day["items_returned"] += int(items)
    rows = [
        {"date": day, **totals, "net_coins": totals["coins_taken"] - totals["coins_refunded"]}
        for day, totals in sorted(days.items())
    ]
    return {
        "supermarket_id": supermarket.id,
        "supermarket": supermarket.name,
        "first_day": first_day,
        "last_day": last_day,
        "days": rows,
        "coins_taken": sum(r["coins_taken"] for r in rows),
        "coins_refunded": sum(r["coins_refunded"] for r in rows),
        "net_coins": sum(r["net_coins"] for r in rows),
    }


# --- reconciliation ----------------------------------------------------------------------------


def stock_discrepancies(session: Session) -> list[Discrepancy]:
    """Each product's stored stock equals the sum of its movements (receipts − redemptions + refunds),
    and each movement's sign fits its reason. For nightly reconciliation; [] when sound."""
    sums = (
        select(StockMovement.product_id, func.sum(StockMovement.quantity).label("total"))
        .group_by(StockMovement.product_id)
        .subquery()
    )
    found = [
        Discrepancy("stock", f"product:{product_id}", int(total or 0), int(stock))
        for product_id, stock, total in session.execute(
            select(Product.id, Product.stock, sums.c.total)
            .outerjoin(sums, sums.c.product_id == Product.id)
            .order_by(Product.id)
        )
        if int(total or 0) != int(stock)
    ]
    wrong_sign = session.execute(
        select(StockMovement.id, StockMovement.reason, StockMovement.quantity).where(
            ((StockMovement.reason == "redemption") & (StockMovement.quantity > 0))
            | ((StockMovement.reason.in_(["receipt", "refund"])) & (StockMovement.quantity < 0))
            | StockMovement.reason.not_in(["receipt", "redemption", "refund"])
        )
    ).all()
    found += [Discrepancy("stock_movement_sign", f"stock_movement:{i}", reason, int(q)) for i, reason, q in wrong_sign]
    return found


def redemption_discrepancies(session: Session) -> list[Discrepancy]:
    """Each basket's and refund's lines add up to its total and to what its ledger transaction
    moved into (or out of) the till; each basket line's amount and quantity match its price and
    stock movement; refunded quantities equal the refund lines."""
    found = []
    till_amounts = dict(
        session.execute(
            select(ledger.Entry.transaction_id, ledger.Entry.amount)
            .join(ledger.Account, ledger.Account.id == ledger.Entry.account_id)
            .where(ledger.Account.type == AccountType.SUPERMARKET_TILL.value)
        ).all()
    )
    # Outer joins: a basket or refund whose lines were all deleted sums to 0 and is found.
    for rid, total, tx_id, lines_sum in session.execute(
        select(Redemption.id, Redemption.total, Redemption.transaction_id, func.sum(RedemptionLine.amount))
        .outerjoin(RedemptionLine, RedemptionLine.redemption_id == Redemption.id)
        .group_by(Redemption.id, Redemption.total, Redemption.transaction_id)
    ):
        lines_sum = int(lines_sum or 0)
        if lines_sum != total or till_amounts.get(tx_id) != total:
            found.append(Discrepancy("redemption_total", f"redemption:{rid}", total, [lines_sum, till_amounts.get(tx_id)]))
    for fid, total, tx_id, lines_sum in session.execute(
        select(Refund.id, Refund.total, Refund.transaction_id, func.sum(RefundLine.amount))
        .outerjoin(RefundLine, RefundLine.refund_id == Refund.id)
        .group_by(Refund.id, Refund.total, Refund.transaction_id)
    ):
        lines_sum = int(lines_sum or 0)
        if lines_sum != total or till_amounts.get(tx_id) != -total:
            found.append(Discrepancy("refund_total", f"refund:{fid}", total, [lines_sum, till_amounts.get(tx_id)]))
    # Each basket line: amount = quantity × price, and its stock movement took exactly that quantity.
    moved = (
        select(StockMovement.redemption_id, StockMovement.product_id, func.sum(StockMovement.quantity).label("q"))
        .where(StockMovement.reason == "redemption")
        .group_by(StockMovement.redemption_id, StockMovement.product_id)
        .subquery()
    )
    for line_id, quantity, price, amount, taken in session.execute(
        select(RedemptionLine.id, RedemptionLine.quantity, RedemptionLine.unit_price, RedemptionLine.amount, moved.c.q)
        .outerjoin(
            moved,
            (moved.c.redemption_id == RedemptionLine.redemption_id) & (moved.c.product_id == RedemptionLine.product_id),
        )
    ):
        if amount != quantity * price or -int(taken or 0) != quantity:
            found.append(
                Discrepancy("redemption_line", f"redemption_line:{line_id}", [quantity, quantity * price],
                            [-int(taken or 0), amount])
            )
    refunded = (
        select(RefundLine.redemption_line_id, func.sum(RefundLine.quantity).label("q"))
        .group_by(RefundLine.redemption_line_id)
        .subquery()
    )
    for line_id, stored, summed in session.execute(
        select(RedemptionLine.id, RedemptionLine.refunded_quantity, refunded.c.q).outerjoin(
            refunded, refunded.c.redemption_line_id == RedemptionLine.id
        )
    ):
        if int(summed or 0) != stored:
            found.append(Discrepancy("refunded_quantity", f"redemption_line:{line_id}", int(summed or 0), stored))
    return found
