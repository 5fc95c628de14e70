"""The love supermarket's operations, one module per job; this is the domain's public face (the API,
the pages, the demo and reconciliation import from here):

- ``scope``: which supermarket a caller acts for or reads; local time
- ``catalogue``: products, the residents' catalogue, stock receipts (入库)
- ``stock``: the one writer of stock counts and stock movements
- ``counter``: the resident look-up, baskets (兑换) and reading them back
- ``refunds``: whole or partial refunds (退货)
- ``documents``: receipts (小票) and CSV sheets
- ``reports``: the shift close-out (交班) and daily totals
- ``checks``: what nightly reconciliation checks of the market
"""

from ..localtime import zone as local_zone  # the counter pages read it as market.local_zone
from .baskets import get_redemption, list_redemptions, redemptions_query
from .catalogue import (
    FEW_LEFT_AT,
    RECEIPT_KINDS,
    availability,
    catalogue,
    create_product,
    get_product,
    get_stock_receipt,
    list_products,
    list_stock_receipts,
    receive_stock,
    update_product,
)
from .checks import redemption_discrepancies, stock_discrepancies
from .counter import PAID_FROM, redeem
from .documents import redemption_receipt, refund_receipt
from .refunds import get_refund, refund_redemption
from .reports import close_out, daily_totals, default_period
from .residents import find_residents, resident_summary
from .scope import get_supermarket, supermarket_for

__all__ = [
    "FEW_LEFT_AT", "PAID_FROM", "RECEIPT_KINDS", "availability", "catalogue", "close_out", "create_product",
    "daily_totals", "default_period", "find_residents", "get_product", "get_redemption", "get_refund",
    "get_stock_receipt", "get_supermarket", "list_products", "list_redemptions", "list_stock_receipts",
    "local_zone", "receive_stock", "redeem", "redemption_discrepancies", "redemption_receipt", "redemptions_query",
    "refund_receipt", "refund_redemption", "resident_summary", "stock_discrepancies", "supermarket_for",
    "update_product",
]
