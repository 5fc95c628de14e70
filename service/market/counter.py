"""At the counter: redeem a basket (兑换). The resident is found in ``residents.py``; baskets are read
back in ``baskets.py``.

Lock order, the same on every path so concurrent baskets, refunds and stock receipts never
deadlock: redemption lines (refunds only) → products in ascending id → ledger accounts in
ascending id (inside ``ledger.post``). Stock and refunded quantities move only by conditional
UPDATEs (``WHERE stock >= qty``), never read-modify-write, so they cannot go negative or be
refunded twice; any refusal raises, and the caller's unit of work rolls everything back.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import String, bindparam, cast, func, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import ledger
from ledger import AccountType, Transaction, Unit
from ledger.accounts import account_code
from ledger.models import utcnow
from ledger.posting import AccountShape, remember_shapes

from ..auth.access import Principal
from ..community.models import Supermarket
from ..community.operations import till_account
from ..errors import Conflict, Invalid, NotFound
from ..idempotency import ANSWER, answer_params
from ..members.models import Household, Member
from ..members.operations import household_wallet, member_wallet
from ..rows import get_row, unnest_insert, unnest_params
from . import stock
from .lines import problem, refuse_duplicates, resolve_products
from .models import Product, Redemption, RedemptionLine

PAID_FROM = ("member", "household")
# Basket problems that mean the request names something that cannot be sold here (422);
# the others are the state of stock or coins right now (409).
INPUT_PROBLEMS = {"unknown_sku", "unknown_product", "wrong_supermarket"}


# --- a basket ----------------------------------------------------------------------------------
#
# The hot path: on PostgreSQL a basket is the idempotency claim, ONE read of everything it is
# checked against, ONE conditional stock UPDATE, ONE ledger statement and ONE statement writing the
# basket, its lines, its stock movements and the stored response (SQLAlchemy Core, no ORM flush);
# the response is built from what was written. Refusals may take more statements: they write nothing.


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
                                    idempotency_key, len(lines))
    if existing is not None:
        return get_row(session, Redemption, existing, what="redemption")
    if not lines:
        raise Invalid("the basket is empty", code="empty_basket")
    refuse_duplicates(lines)
    sold = _take_stock(session, basket, lines)
    posted = _pay(session, principal, basket, sold, idempotency_key, note, details or {})
    return _write_redemption(session, principal, basket, sold, posted, note, at or utcnow(), respond)


_accounts = ledger.Account.__table__.alias("wallet")
_tills = ledger.Account.__table__.alias("till")
_members = Member.__table__
_supermarkets = Supermarket.__table__


def _open_basket(session, principal, supermarket_id, member_id, card_code, paid_from, key, count):
    """One read: the supermarket, the resident, the paying wallet and its balance, the till, a basket
    already made with this key, and (PostgreSQL) the ids the new rows will take."""
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
    row = session.connection().execute(
        statement,
        {
            "supermarket_id": supermarket_id, "member_id": member_id, "card_code": card_code, "key": key, "n": count,
            "till_code": account_code(AccountType.SUPERMARKET_TILL, supermarket_id, Unit.COIN),
        },
    ).first()
    if row is None:
        raise NotFound("supermarket not found")
    (sid, community_id, name, active, mid, member_community, member_name, member_active, household_id,
     wallet_id, balance, till_id, existing_id, *shapes_and_ids) = row
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
    ), None


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
    columns = [s.id, s.community_id, s.name, s.active, m.id, m.community_id, m.name, m.active, m.household_id,
               w.id, w.balance, t.id, existing.label("existing"),
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


def _take_stock(session: Session, basket: Basket, lines: list[dict]) -> list[dict]:
    """Stock down in one conditional UPDATE; the lines as sold, at the prices read under the lock."""
    taken = stock.take(session, basket.supermarket_id, lines)
    by_sku = {row.sku: row for row in taken}
    by_id = {row.id: row for row in taken}
    rows = [by_sku.get(ln["sku"]) if ln.get("sku") else by_id.get(ln["product_id"]) for ln in lines]
    if len(taken) != len(lines) or any(row is None for row in rows):
        _explain_refusal(session, basket, lines, rows)
    return [
        {
            "product_id": row.id, "sku": row.sku, "name": row.name, "unit": row.unit,
            "quantity": line["quantity"], "unit_price": row.price, "stock_after": row.stock,
        }
        for row, line in zip(rows, lines, strict=True)
    ]


def _explain_refusal(session: Session, basket: Basket, lines: list[dict], rows: list) -> None:
    """Why some lines were not taken (every failing line at once, and the coins if short)."""
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
    moved = [(s["product_id"], -s["quantity"], s["stock_after"]) for s in sold]
    if basket.new_ids is not None:  # PostgreSQL: one statement, built once, ids drawn ahead
        redemption.id, line_ids = basket.new_ids[0], basket.new_ids[1]
        _as_written(redemption, basket, lines, line_ids)
        answer = _answer(redemption, respond)
        params = {
            **{f"r_{name}": value for name, value in row.items()},
            "r_id": redemption.id,
            **unnest_params(
                _redemption_lines, LINE_COLUMNS,
                [{"id": i, "redemption_id": redemption.id, **ln} for i, ln in zip(line_ids, lines, strict=True)],
            ),
            **stock.movement_params(
                supermarket_id=basket.supermarket_id, reason="redemption", moved=moved, at=at,
                redemption_id=redemption.id,
            ),
            **(answer or {}),
        }
        session.connection().execute(_basket_write(answer is not None), params)
        return redemption
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
    """The basket, its lines, its stock movements and (``answered``) the stored response in ONE
    PostgreSQL statement, built once: every value is a bound parameter."""
    redemption = insert(_redemptions).values({c.key: bindparam(f"r_{c.key}", type_=c.type) for c in _redemptions.c})
    writes = [
        redemption.cte("r"),
        unnest_insert(_redemption_lines, LINE_COLUMNS).cte("l"),
        stock.movements_insert().cte("m"),
    ]
    return (ANSWER if answered else select(literal(1))).add_cte(*writes)


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
