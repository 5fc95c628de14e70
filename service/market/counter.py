"""At the counter: redeem a basket (兑换). The resident is found in ``residents.py``; baskets are read
back in ``baskets.py``.

Lock order, the same on every path so concurrent baskets, refunds, reservations and stock receipts
never deadlock: redemption lines (refunds only) → ledger accounts in ascending id (inside
``ledger.post``) → products in ascending id. Stock and refunded quantities move only by conditional
UPDATEs (``WHERE stock >= qty``), never read-modify-write, so they cannot go negative or be
refunded twice; any refusal raises, and the caller's unit of work rolls everything back.

Products are locked last on purpose: every basket of a supermarket shares its few best-selling
products, so their rows are the hot rows of the counter. A basket reads them (no lock), pays,
and only then takes the stock, in its last statement, at the prices it charged; the product
locks are held for that statement and the COMMIT, nothing more.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import String, any_, bindparam, cast, func, insert, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import ledger
from ledger import AccountType, Transaction, Unit
from ledger.accounts import account_code
from ledger.db import execute_hot
from ledger.models import utcnow
from ledger.shapes import AccountShape, remember_shapes

from ..auth.access import Principal
from ..community.models import Supermarket
from ..community.operations import till_account
from ..errors import Conflict, Invalid, NotFound
from ..idempotency import ANSWER, answer_params
from ..members.models import Household, Member
from ..members.operations import household_wallet, member_wallet
from ..rows import get_row, unnest_params, unnest_select
from . import stock
from .lines import item_key, problem, refuse_duplicates, resolve_products
from .models import Product, Redemption, RedemptionLine

PAID_FROM = ("member", "household")
# Basket problems that mean the request names something that cannot be sold here (422);
# the others are the state of stock or coins right now (409).
INPUT_PROBLEMS = {"unknown_sku", "unknown_product", "wrong_supermarket"}


# --- a basket ----------------------------------------------------------------------------------
#
# The hot path: on PostgreSQL a basket is the idempotency claim, ONE read of everything it is
# checked against (the products included), ONE ledger statement and ONE statement taking the stock
# and writing the basket, its lines, its stock movements and the stored response (SQLAlchemy Core,
# no ORM flush); the response is built from what was written. Refusals may take more statements:
# they write nothing.


@dataclass
class Basket:
    """Who pays, where, from which wallet: everything a basket is checked against, read at once."""

    supermarket_id: int
    community_id: int
    supermarket_name: str
    member_id: int
    member_name: str
    paid_from: str
    household_id: int | None
    wallet_id: int
    balance: int
    till_id: int
    new_ids: tuple[int, list[int]] | None  # PostgreSQL: the basket's and its lines' ids, drawn ahead
    products: dict  # item_key → (id, sku, price, stock, active, name, unit) of the products named here


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
    respond: Callable[[Redemption], tuple[dict, int]] | None = None,
    details: dict | None = None,
) -> Redemption:
    """Redeem one basket (兑换), all or nothing: coins wallet → till and stock down, or a refusal
    that names every failing line and writes nothing. Prices are the catalogue's at this moment.
    ``details`` adds to the posting's details (a helper who acted: ``acted_by_member_id``).

    ``respond`` (the API's) turns the basket into the response, which is then stored for replays
    in the same statement as the basket (see ``service.idempotency.answer_params``)."""
    basket, existing = _open_basket(session, principal, supermarket_id, member_id, card_code, paid_from,
                                    idempotency_key, lines)
    if existing is not None:
        return get_row(session, Redemption, existing, what="redemption")
    if not lines:
        raise Invalid("the basket is empty", code="empty_basket")
    refuse_duplicates(lines)
    sold = _price(session, basket, lines)
    posted = _pay(session, principal, basket, sold, idempotency_key, note, details or {})
    return _write_redemption(session, principal, basket, sold, posted, note, at or utcnow(), respond)


_accounts = ledger.Account.__table__.alias("wallet")
_products = Product.__table__
_tills = ledger.Account.__table__.alias("till")
_members = Member.__table__
_supermarkets = Supermarket.__table__


def _open_basket(session, principal, supermarket_id, member_id, card_code, paid_from, key, lines):
    """One read: the supermarket, the resident, the paying wallet and its balance, the till, a basket
    already made with this key, the products the lines name, and (PostgreSQL) the ids the new rows
    will take."""
    count = len(lines)
    if supermarket_id is None:
        if principal.supermarket_id is None:
            raise Invalid("name the supermarket_id", code="supermarket_required")
        supermarket_id = principal.supermarket_id
    if (member_id is None) == (card_code is None):
        raise Invalid("name the resident by exactly one of member_id and card_code", code="one_resident_required")
    if paid_from not in PAID_FROM:
        raise Invalid("paid_from is member or household", code="invalid_paid_from")
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = _basket_read(paid_from, member_id is None, postgres)
    row = execute_hot(
        session.connection(), statement,
        {
            "supermarket_id": supermarket_id, "member_id": member_id, "card_code": card_code, "key": key, "n": count,
            "till_code": account_code(AccountType.SUPERMARKET_TILL, supermarket_id, Unit.COIN),
            "skus": [ln["sku"] for ln in lines if ln.get("sku")],
            "ids": [ln["product_id"] for ln in lines if not ln.get("sku") and ln.get("product_id") is not None],
        },
    ).fetchone()
    if row is None:
        raise NotFound("supermarket not found")
    (sid, community_id, name, active, mid, member_community, member_name, member_active, household_id,
     wallet_id, balance, till_id, existing_id, products, *shapes_and_ids) = row
    shapes, new_ids = shapes_and_ids[:6], shapes_and_ids[6:]
    principal.require_supermarket(sid, community_id)
    if existing_id is not None:
        return None, existing_id
    if not active:
        raise Invalid("this supermarket is closed", code="supermarket_inactive")
    if mid is None or member_community != community_id:
        raise NotFound("no such resident in this supermarket's community", code="member_not_found")
    if not member_active:
        raise Invalid("this resident's card is deactivated", code="member_inactive")
    if paid_from == "household" and household_id is None:
        raise Invalid("this resident belongs to no household", code="no_household")
    if wallet_id is None or till_id is None:  # opened on first use
        member = session.get(Member, mid)
        wallet = (
            household_wallet(session, session.get(Household, household_id))
            if paid_from == "household"
            else member_wallet(session, member, Unit.COIN)
        )
        wallet_id, balance = wallet.id, wallet.balance
        till_id = till_account(session, session.get(Supermarket, sid)).id
    else:  # what the posting needs to know of both accounts, read here rather than by ledger.post
        remember_shapes(session, [
            AccountShape(wallet_id, Unit.COIN.value, shapes[0], shapes[1], shapes[2]),
            AccountShape(till_id, Unit.COIN.value, shapes[3], shapes[4], shapes[5]),
        ])
    return Basket(
        sid, community_id, name, mid, member_name, paid_from, household_id if paid_from == "household" else None,
        wallet_id, int(balance), till_id, (new_ids[0], list(new_ids[1] or [])) if new_ids else None,
        _by_item(products),
    ), None


def _by_item(products) -> dict:
    """The read's products (a JSON array of arrays) by ``item_key``: by SKU and by id."""
    if isinstance(products, str):  # SQLite returns the JSON as text
        products = json.loads(products)
    found = {}
    for product in products or ():
        found[("sku", product[1])] = found[("product", product[0])] = product
    return found


@functools.cache
def _basket_read(paid_from: str, by_card: bool, postgres: bool):
    """The statement of ``_open_basket``, built once per shape."""
    m, w, t, s = _members.c, _accounts.c, _tills.c, _supermarkets.c
    owner = m.household_id if paid_from == "household" else m.id
    wallet_type = AccountType.HOUSEHOLD_WALLET if paid_from == "household" else AccountType.MEMBER_WALLET
    wallet_code = literal(f"{wallet_type.value}:") + cast(owner, String) + literal(f":{Unit.COIN.value}")
    existing = (
        select(Redemption.id)
        .join(Transaction, Transaction.id == Redemption.transaction_id)
        .where(Transaction.idempotency_key == bindparam("key"))
        .scalar_subquery()
    )
    p = _products.c
    product = (p.id, p.sku, p.price, p.stock, p.active, p.name, p.unit)
    if postgres:  # arrays: the statement is sent straight (``execute_hot``), the same for any number of lines
        # Unbounded text: a cast to the column's VARCHAR(40) would cut a longer SKU and match another.
        named = or_(p.sku == any_(bindparam("skus", type_=ARRAY(String))),
                    p.id == any_(bindparam("ids", type_=ARRAY(p.id.type))))
    else:
        named = or_(p.sku.in_(bindparam("skus", expanding=True)), p.id.in_(bindparam("ids", expanding=True)))
    products = (
        select(func.json_agg(func.json_build_array(*product)) if postgres
               else func.json_group_array(func.json_array(*product)))
        .where(p.supermarket_id == s.id, named)
        .scalar_subquery()
    )
    columns = [s.id, s.community_id, s.name, s.active, m.id, m.community_id, m.name, m.active, m.household_id,
               w.id, w.balance, t.id, existing.label("existing"), products.label("products"),
               w.community_id, w.allow_negative, w.track_balance, t.community_id, t.allow_negative, t.track_balance]
    if postgres:  # the ids of the basket and of its lines, drawn ahead so one statement writes them all
        columns += [
            func.nextval("redemptions_id_seq"),
            select(func.array_agg(func.nextval("redemption_lines_id_seq")))
            .select_from(func.generate_series(1, bindparam("n")))
            .scalar_subquery(),
        ]
    resident = m.card_code == bindparam("card_code") if by_card else m.id == bindparam("member_id")
    return (
        select(*columns)
        .select_from(_supermarkets)
        .outerjoin(_members, resident)
        .outerjoin(_accounts, w.code == wallet_code)
        .outerjoin(_tills, t.code == bindparam("till_code"))
        .where(s.id == bindparam("supermarket_id"))
    )


def _price(session: Session, basket: Basket, lines: list[dict]) -> list[dict]:
    """The lines as they will be sold, at the prices read (the stock is taken at these prices in the
    basket's last statement); or a refusal naming every line that cannot be sold."""
    rows = [basket.products.get(item_key(ln)) for ln in lines]
    sellable = [
        row if row is not None and row[4] and row[3] >= line["quantity"] else None
        for row, line in zip(rows, lines, strict=True)
    ]
    named_twice = len({row[0] for row in rows if row is not None}) < len(lines)  # by SKU and by id
    if named_twice or any(row is None for row in sellable):
        _explain_refusal(session, basket, lines, sellable)
    return [
        {"product_id": pid, "sku": sku, "name": name, "unit": unit, "quantity": line["quantity"], "unit_price": price}
        for (pid, sku, price, _stock, _active, name, unit), line in zip(sellable, lines, strict=True)
    ]


def _explain_refusal(session: Session, basket: Basket, lines: list[dict], rows: list) -> None:
    """Why some lines cannot be sold (every failing line at once, and the coins if short)."""
    resolved = resolve_products(session, basket.supermarket_id, lines)
    problems, total = [], 0
    for index, ((product, found), line, row) in enumerate(zip(resolved, lines, rows, strict=True)):
        if product is not None:
            total += product.price * line["quantity"]
        if found is None and row is None:
            found = _stock_problem(index, line, product) or problem(
                index, line, "out_of_stock", "sold out meanwhile", product, available=product.stock
            )
        if found:
            problems.append(found)
    wallet_problem = _coins_problem(basket.paid_from, basket.balance, total) if basket.balance < total else None
    _refuse_basket(problems, wallet_problem)


def _taken_all(taken: list, sold: list[dict]) -> None:
    """The stock of every line was taken at the price charged, or the unit of work runs again: a
    line sold out or repriced since the basket's read, and the next run refuses it or charges the
    new price (its read sees the change)."""
    if len(taken) != len(sold):
        raise ledger.RetryableConflict("the stock or a price changed while the basket was being redeemed")


def _pay(session, principal: Principal, basket: Basket, sold: list[dict], idempotency_key: str, note: str,
         extra: dict):
    """One ledger posting, wallet → till; a concurrent duplicate makes the unit of work rerun."""
    total = sum(s["quantity"] * s["unit_price"] for s in sold)
    try:
        posted = ledger.post(
            session,
            lines=[ledger.Line(basket.wallet_id, -total), ledger.Line(basket.till_id, total)],
            idempotency_key=idempotency_key,
            kind="redemption",
            community_id=basket.community_id,
            memo=note,
            actor_id=principal.staff_id,
            location=f"supermarket:{basket.supermarket_id}",
            details={
                "description": f"{basket.supermarket_name} 兑换: "
                + "、".join(f"{s['name']}×{s['quantity']}" for s in sold),
                "supermarket_id": basket.supermarket_id,
                "member_id": basket.member_id,
                "paid_from": basket.paid_from,
                "lines": [
                    {"sku": s["sku"], "name": s["name"], "quantity": s["quantity"], "unit_price": s["unit_price"]}
                    for s in sold
                ],
                **extra,
            },
        )
    except ledger.InsufficientBalance as exc:
        _refuse_basket([], _coins_problem(basket.paid_from, exc.details.get("balance") or 0, total))
    if posted.replayed:
        # A concurrent duplicate committed first; re-running the unit of work returns its redemption.
        raise ledger.RetryableConflict("the same basket was redeemed concurrently")
    return posted


_redemptions = Redemption.__table__
_redemption_lines = RedemptionLine.__table__


def _write_redemption(session, principal, basket: Basket, sold, posted, note, at, respond) -> Redemption:
    """The basket, its lines and its stock movements (and the stored response) as written rows; the
    returned redemption is built from them, not read back."""
    redemption = Redemption(
        supermarket_id=basket.supermarket_id,
        community_id=basket.community_id,
        member_id=basket.member_id,
        paid_from=basket.paid_from,
        household_id=basket.household_id,
        wallet_account_id=basket.wallet_id,
        transaction_id=posted.transaction_id,
        staff_id=principal.staff_id,
        total=sum(s["quantity"] * s["unit_price"] for s in sold),
        balance_after=posted.balances[basket.wallet_id],
        note=note,
        created_at=at,
    )
    row = {c.key: getattr(redemption, c.key) for c in _redemptions.columns if c.key != "id"}
    lines = [
        {
            "product_id": s["product_id"], "sku": s["sku"], "name": s["name"], "unit": s["unit"],
            "quantity": s["quantity"], "unit_price": s["unit_price"], "amount": s["quantity"] * s["unit_price"],
            "refunded_quantity": 0,
        }
        for s in sold
    ]
    wanted = [{"product_id": s["product_id"], "quantity": s["quantity"], "unit_price": s["unit_price"]} for s in sold]
    if basket.new_ids is not None:  # PostgreSQL: one statement, built once, ids drawn ahead
        redemption.id, line_ids = basket.new_ids[0], basket.new_ids[1]
        _as_written(redemption, basket, lines, line_ids)
        answer = _answer(redemption, respond)
        params = {
            **{f"r_{name}": value for name, value in row.items()},
            "r_id": redemption.id,
            "n": len(sold),
            **stock.take_params(basket.supermarket_id, wanted),
            **unnest_params(
                _redemption_lines, LINE_COLUMNS,
                [{"id": i, "redemption_id": redemption.id, **ln} for i, ln in zip(line_ids, lines, strict=True)],
            ),
            **(answer or {}),
        }
        _taken_all(execute_hot(session.connection(), _basket_write(answer is not None), params).fetchall(), sold)
        return redemption
    taken = stock.take(session, basket.supermarket_id, wanted)
    _taken_all(taken, sold)
    moved = [(row.id, -row.quantity, row.stock) for row in taken]
    redemption.id = session.execute(insert(_redemptions).values(**row).returning(_redemptions.c.id)).scalar_one()
    line_ids = session.execute(
        insert(_redemption_lines).returning(_redemption_lines.c.id, sort_by_parameter_order=True),
        [{"redemption_id": redemption.id, **ln} for ln in lines],
    ).scalars().all()
    stock.record_movements(
        session, supermarket_id=basket.supermarket_id, reason="redemption", moved=moved, at=at,
        redemption_id=redemption.id,
    )
    _as_written(redemption, basket, lines, line_ids)
    answer = _answer(redemption, respond)
    if answer is not None:
        session.execute(ANSWER, answer)
    return redemption


def _as_written(redemption: Redemption, basket: Basket, lines: list[dict], line_ids: list[int]) -> None:
    set_committed_value(redemption, "lines", [RedemptionLine(id=i, redemption_id=redemption.id, **ln)
                                              for i, ln in zip(line_ids, lines, strict=True)])
    set_committed_value(redemption, "refunds", [])
    set_committed_value(redemption, "member", Member(id=basket.member_id, name=basket.member_name))


def _answer(redemption: Redemption, respond) -> dict | None:
    """The stored response's parameters (``idempotency.ANSWER``), None when there is none to store."""
    return answer_params(*respond(redemption)) if respond is not None else None


LINE_COLUMNS = ("id", "redemption_id", "product_id", "sku", "name", "unit", "quantity", "unit_price", "amount",
                "refunded_quantity")


@functools.cache
def _basket_write(answered: bool):
    """ONE PostgreSQL statement, built once (every value a bound parameter): the stock taken
    (``stock.taking``: products locked in ascending id, each line only if still sellable at its
    price) and, only if every line was taken, the basket, its lines, its stock movements and
    (``answered``) the stored response. Returns the rows taken; fewer than ``n`` wrote nothing."""
    taken = stock.taking().cte("taken")
    every_line = select(func.count()).select_from(taken).scalar_subquery() == bindparam("n")
    columns = [c.key for c in _redemptions.c]
    redemption = insert(_redemptions).from_select(
        columns, select(*[bindparam(f"r_{name}", type_=_redemptions.c[name].type) for name in columns]).where(every_line)
    )
    lines = insert(_redemption_lines).from_select(
        list(LINE_COLUMNS), unnest_select(_redemption_lines, LINE_COLUMNS).where(every_line)
    )
    movements = stock.movements_of(
        taken, reason="redemption", sign=-1, where=every_line, supermarket_id=bindparam("r_supermarket_id"),
        redemption_id=bindparam("r_id"), created_at=bindparam("r_created_at"),
    )
    writes = [redemption.cte("r"), lines.cte("l"), movements.cte("m")]
    if answered:
        writes.append(ANSWER.where(every_line).cte("a"))
    return select(taken.c.id, taken.c.stock).add_cte(*writes)


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
