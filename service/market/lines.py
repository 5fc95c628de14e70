"""The lines of a basket or a stock receipt: each names a product by SKU or id; problems per line."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Invalid
from .models import Product


def item_key(line: dict):
    return ("sku", line["sku"]) if line.get("sku") else ("product", line.get("product_id"))


def refuse_duplicates(lines: list[dict], key=item_key) -> None:
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


def problem(index: int, line: dict, code: str, message: str, product: Product | None = None, **extra) -> dict:
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


def resolve_products(session: Session, supermarket_id: int, lines: list[dict]) -> list[tuple[Product | None, dict | None]]:
    """For each line, its product in this supermarket, or a problem saying why there is none."""
    skus = [ln["sku"] for ln in lines if ln.get("sku")]
    ids = [ln["product_id"] for ln in lines if ln.get("product_id")]
    fresh = {"populate_existing": True}  # stock moves by UPDATEs behind the identity map
    by_sku = {
        p.sku: p
        for p in session.scalars(
            select(Product)
            .where(Product.supermarket_id == supermarket_id, Product.sku.in_(skus))
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
                resolved.append((None, problem(index, line, "unknown_sku", "no product with this SKU here")))
                continue
        else:
            product = by_id.get(line["product_id"])
            if product is None:
                resolved.append((None, problem(index, line, "unknown_product", "no such product")))
                continue
            if product.supermarket_id != supermarket_id:
                resolved.append(
                    (None, problem(index, line, "wrong_supermarket", "this product belongs to another supermarket"))
                )
                continue
        resolved.append((product, None))
    refuse_duplicates([{"sku": None, "product_id": p.id if p else -i} for i, (p, _) in enumerate(resolved)])
    return resolved
