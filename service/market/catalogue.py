"""The catalogue (products, what residents see) and goods coming in (stock receipts, 入库)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import utcnow

from ..auth.access import Principal
from ..auth.models import Role
from ..community.models import Supermarket
from ..errors import Conflict, Invalid
from ..listing import keyset_page
from ..rows import get_row
from . import stock
from .lines import refuse_duplicates, resolve_products
from .models import Product, StockReceipt
from .scope import get_supermarket, require_reader, scope_to_supermarkets

FEW_LEFT_AT = 5  # the resident catalogue shows "few_left" at or below this many units
RECEIPT_KINDS = ("donation", "purchase")
PRODUCT_FIELDS = ("sku", "barcode", "name", "unit", "price", "active")


def get_product(session: Session, product_id: int) -> Product:
    return get_row(session, Product, product_id, what="product")


def _sku_taken(session: Session, supermarket_id: int, sku: str, except_id: int | None = None) -> bool:
    query = select(Product.id).where(Product.supermarket_id == supermarket_id, Product.sku == sku)
    if except_id is not None:
        query = query.where(Product.id != except_id)
    return session.scalars(query).first() is not None


def _barcode_taken(session: Session, supermarket_id: int, barcode: str | None, except_id: int | None = None) -> bool:
    if not barcode:
        return False
    query = select(Product.id).where(Product.supermarket_id == supermarket_id, Product.barcode == barcode)
    if except_id is not None:
        query = query.where(Product.id != except_id)
    return session.scalars(query).first() is not None


def create_product(session: Session, principal: Principal, *, supermarket_id: int, **fields) -> Product:
    """Add a catalogue item (administrators); stock starts at 0 and comes in by stock receipts."""
    supermarket = get_supermarket(session, supermarket_id)
    principal.require_admin_of(supermarket.community_id)
    if _sku_taken(session, supermarket.id, fields["sku"]):
        raise Conflict("this SKU is already in the supermarket's catalogue", code="sku_taken", sku=fields["sku"])
    if _barcode_taken(session, supermarket.id, fields.get("barcode")):
        raise Conflict("this barcode is already in the supermarket's catalogue", code="barcode_taken")
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
    if _barcode_taken(session, product.supermarket_id, changes.get("barcode"), product.id):
        raise Conflict("this barcode is already in the supermarket's catalogue", code="barcode_taken")
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


def availability(stock_count: int) -> str:
    if stock_count <= 0:
        return "out"
    return "few_left" if stock_count <= FEW_LEFT_AT else "in_stock"


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
    refuse_duplicates(lines)
    resolved = resolve_products(session, supermarket.id, lines)
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
    moved = [(pid, quantities[pid], stock.put(session, pid, quantities[pid])) for pid in sorted(quantities)]
    stock.record_movements(
        session, supermarket_id=supermarket.id, reason="receipt", moved=moved, at=at, stock_receipt_id=receipt.id
    )
    return receipt


def get_stock_receipt(session: Session, principal: Principal, receipt_id: int) -> StockReceipt:
    receipt = get_row(session, StockReceipt, receipt_id, what="stock receipt")
    require_reader(principal, receipt.supermarket_id, receipt.community_id, what="stock receipt")
    return receipt


def list_stock_receipts(
    session: Session, principal: Principal, *, supermarket_id: int | None = None, limit: int = 50, before: int | None = None
) -> list[StockReceipt]:
    query = scope_to_supermarkets(select(StockReceipt), StockReceipt, principal, supermarket_id, session)
    return keyset_page(session, query, StockReceipt, limit=limit, before=before)
