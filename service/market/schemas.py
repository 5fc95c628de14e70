from marshmallow import Schema, fields, validate

from .. import localtime
from ..members.cards import CardCode
from ..schemas import PageQuerySchema, coins, exactly_one_of, flag, query_id, ref_id, text
from .reports import FIRST_DAY, LAST_DAY

SKU = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", error="1-40 letters, digits, '.', '-' and '_'")
BARCODE = validate.Regexp(r"^[0-9]{8,14}$", error="8 to 14 digits (EAN-8, EAN-13, UPC-A, GTIN-14)")
MAX_LINE_QUANTITY = 1000  # one basket line; a receipt line may bring in more
MAX_RECEIPT_QUANTITY = 100_000
MAX_LINES = 100
MAX_PRICE = 100_000


class LocalDateTime(fields.DateTime):
    """A time; one given without an offset is local time (``GREENCOIN_TIMEZONE``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        return moment if moment.tzinfo else moment.replace(tzinfo=localtime.zone())



def quantity(maximum: int) -> fields.Integer:
    return fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=maximum))


class MarketItemLineSchema(Schema):
    """A line naming a product by its SKU (as scanned) or by its id (as picked on the tablet)."""

    sku = fields.String(validate=SKU)
    product_id = ref_id()

    _one_key = exactly_one_of("sku", "product_id", message="give exactly one of sku and product_id")


class MarketBasketLineSchema(MarketItemLineSchema):
    quantity = quantity(MAX_LINE_QUANTITY)


class MarketReceiptLineSchema(MarketItemLineSchema):
    quantity = quantity(MAX_RECEIPT_QUANTITY)


class ProductCreateSchema(Schema):
    supermarket_id = ref_id(required=True)
    sku = fields.String(required=True, validate=SKU)
    barcode = fields.String(validate=BARCODE, allow_none=True, load_default=None)
    name = text(100)
    unit = text(16, required=False, load_default="件")
    price = coins(required=True, validate=validate.Range(min=1, max=MAX_PRICE), metadata={"description": "whole coins per unit"})
    active = flag(load_default=True)


class ProductUpdateSchema(Schema):
    sku = fields.String(validate=SKU)
    barcode = fields.String(validate=BARCODE, allow_none=True)
    name = text(100, required=False)
    unit = text(16, required=False)
    price = coins(validate=validate.Range(min=1, max=MAX_PRICE))
    active = flag()


class ProductSchema(Schema):
    id = fields.Integer()
    supermarket_id = fields.Integer()
    community_id = fields.Integer()
    sku = fields.String()
    barcode = fields.String(allow_none=True)
    name = fields.String()
    unit = fields.String()
    price = fields.Integer()
    stock = fields.Integer(metadata={"description": "exact count, for staff"})
    active = flag()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ProductQuerySchema(Schema):
    supermarket_id = query_id()
    include_inactive = fields.Boolean(load_default=False)


class CatalogueQuerySchema(Schema):
    supermarket_id = query_id()


class CatalogueItemSchema(Schema):
    product_id = fields.Integer()
    supermarket_id = fields.Integer()
    supermarket_name = fields.String()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    price = fields.Integer()
    availability = fields.String(
        metadata={"description": "in_stock, few_left (5 or fewer) or out; exact counts are for staff"}
    )


class StockReceiptCreateSchema(Schema):
    supermarket_id = ref_id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["donation", "purchase"]))
    source = text(200, metadata={"description": "donor or supplier"})
    note = text(1000, required=False, min_length=0, load_default="")
    lines = fields.List(
        fields.Nested(MarketReceiptLineSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES)
    )


class StockReceiptLineSchema(Schema):
    product_id = fields.Integer()
    quantity = fields.Integer()
    stock_after = fields.Integer()


class StockReceiptSchema(Schema):
    id = fields.Integer()
    supermarket_id = fields.Integer()
    kind = fields.String()
    source = fields.String()
    note = fields.String()
    staff_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(StockReceiptLineSchema), attribute="movements")


class MarketListQuerySchema(PageQuerySchema):
    supermarket_id = query_id()


class LookupQuerySchema(Schema):
    card_code = CardCode()
    phone = fields.String(validate=validate.Length(min=1, max=20))


class ResidentSummarySchema(Schema):
    member_id = fields.Integer()
    masked_name = fields.String(metadata={"description": "e.g. 张*丰; nothing else personal is shown"})
    coins = fields.Integer(metadata={"description": "the resident's own wallet"})
    household_id = fields.Integer(allow_none=True)
    household_coins = fields.Integer(allow_none=True)


class MarketRedemptionCreateSchema(Schema):
    supermarket_id = ref_id(metadata={"description": "defaults to the cashier's own supermarket"})
    member_id = ref_id()
    card_code = CardCode()
    paid_from = fields.String(load_default="member", validate=validate.OneOf(["member", "household"]))
    note = text(500, required=False, min_length=0, load_default="")
    lines = fields.List(
        fields.Nested(MarketBasketLineSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES)
    )
    helper_card_code = CardCode(metadata={"description": "a named helper (代办) redeems for the resident: their card"})
    helper_member_id = ref_id(metadata={"description": "or the helper's member id"})

    _one_resident = exactly_one_of(
        "member_id", "card_code", message="name the resident by exactly one of member_id and card_code"
    )


class MarketRedemptionLineSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()
    amount = fields.Integer()
    refunded_quantity = fields.Integer()


class MarketRefundLineSchema(Schema):
    redemption_line_id = fields.Integer()
    product_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()
    amount = fields.Integer()


class MarketRefundSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    redemption_id = fields.Integer()
    transaction_id = fields.Integer()
    staff_id = fields.Integer(allow_none=True)
    reason = fields.String()
    whole = flag()
    total = fields.Integer()
    balance_after = fields.Integer(metadata={"description": "the refunded wallet's balance after the refund"})
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(MarketRefundLineSchema))


class MarketRedemptionSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "receipt number"})
    supermarket_id = fields.Integer()
    member_id = fields.Integer()
    resident = fields.String(metadata={"description": "masked name"})
    paid_from = fields.String()
    household_id = fields.Integer(allow_none=True)
    transaction_id = fields.Integer()
    staff_id = fields.Integer(allow_none=True)
    total = fields.Integer()
    balance_after = fields.Integer(metadata={"description": "the paying wallet's balance after the basket"})
    refunded_total = fields.Integer()
    status = fields.String(metadata={"description": "completed, partly_refunded or refunded"})
    note = fields.String()
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(MarketRedemptionLineSchema))
    refunds = fields.List(fields.Nested(MarketRefundSchema))
    acted_by_member_id = fields.Integer(
        metadata={"description": "the helper (代办) who redeemed for the resident; in the answer to a helper's basket"}
    )


class MarketRedemptionQuerySchema(MarketListQuerySchema):
    member_id = query_id()


class MarketRefundRequestLineSchema(Schema):
    line_id = ref_id(required=True, metadata={"description": "id of a line of the redemption"})
    quantity = quantity(MAX_LINE_QUANTITY)


class MarketRefundCreateSchema(Schema):
    reason = text(500)
    lines = fields.List(
        fields.Nested(MarketRefundRequestLineSchema),
        validate=validate.Length(min=1, max=MAX_LINES),
        metadata={"description": "omit to refund everything not yet refunded"},
    )


class MarketReceiptLineOutSchema(Schema):
    sku = fields.String()
    name = fields.String()
    unit = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()
    amount = fields.Integer()


class MarketReceiptSchema(Schema):
    kind = fields.String(metadata={"description": "redemption or refund"})
    number = fields.String()
    supermarket = fields.String()
    time = fields.DateTime(metadata={"description": "local time (GREENCOIN_TIMEZONE, default Asia/Shanghai)"})
    cashier = fields.String(allow_none=True)
    resident = fields.String(metadata={"description": "masked name"})
    paid_from = fields.String()
    lines = fields.List(fields.Nested(MarketReceiptLineOutSchema))
    total = fields.Integer()
    balance_after = fields.Integer()
    transaction_id = fields.Integer()
    redemption_number = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class CloseOutQuerySchema(Schema):
    cashier_id = query_id(metadata={"description": "defaults to the calling cashier"})
    start = LocalDateTime(metadata={"description": "default: today 00:00 local time"})
    end = LocalDateTime(metadata={"description": "default: now"})


class GoodsRowSchema(Schema):
    sku = fields.String()
    name = fields.String()
    out = fields.Integer()
    returned = fields.Integer()
    net = fields.Integer()
    coins = fields.Integer()


class CloseOutLineSchema(Schema):
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()
    amount = fields.Integer()


class CloseOutDocumentSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    time = fields.DateTime()
    resident = fields.String()
    total = fields.Integer()
    reason = fields.String()
    lines = fields.List(fields.Nested(CloseOutLineSchema))


class CloseOutSchema(Schema):
    supermarket_id = fields.Integer()
    supermarket = fields.String()
    cashier_id = fields.Integer()
    cashier = fields.String()
    start = fields.DateTime()
    end = fields.DateTime()
    redemption_count = fields.Integer()
    refund_count = fields.Integer()
    coins_taken = fields.Integer()
    coins_refunded = fields.Integer()
    net_coins = fields.Integer()
    goods = fields.List(fields.Nested(GoodsRowSchema))
    redemptions = fields.List(fields.Nested(CloseOutDocumentSchema))
    refunds = fields.List(fields.Nested(CloseOutDocumentSchema))


def report_day(description: str) -> fields.Date:
    """A local date a report may cover: 2000-01-01 to 2999-12-31, checked and documented (pattern)."""
    return fields.Date(
        validate=validate.Range(min=FIRST_DAY, max=LAST_DAY, error=f"dates run from {FIRST_DAY} to {LAST_DAY}"),
        metadata={"description": description, "pattern": r"^2[0-9]{3}-"},
    )


class DailyTotalsQuerySchema(Schema):
    """At most 366 days, ``first_day`` <= ``last_day`` (422 ``invalid_period`` when both are given
    and break it: a rule across two parameters, which OpenAPI cannot state)."""

    first_day = report_day("local date; default the 1st of last_day's month")
    last_day = report_day("local date; default today, but not before first_day nor more than 366 days after it")


class DayTotalsSchema(Schema):
    date = fields.Date()
    redemptions = fields.Integer()
    coins_taken = fields.Integer()
    refunds = fields.Integer()
    coins_refunded = fields.Integer()
    net_coins = fields.Integer()
    items_out = fields.Integer()
    items_returned = fields.Integer()


class DailyTotalsSchema(Schema):
    supermarket_id = fields.Integer()
    supermarket = fields.String()
    first_day = fields.Date()
    last_day = fields.Date()
    coins_taken = fields.Integer()
    coins_refunded = fields.Integer()
    net_coins = fields.Integer()
    days = fields.List(fields.Nested(DayTotalsSchema))


class StockTakeLineInSchema(MarketItemLineSchema):
    counted = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_RECEIPT_QUANTITY),
                             metadata={"description": "what is on the shelf"})


class StockTakeCreateSchema(Schema):
    supermarket_id = ref_id(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(["damaged", "expired", "lost", "found"]))
    note = text(1000, required=False, min_length=0, load_default="")
    lines = fields.List(fields.Nested(StockTakeLineInSchema), required=True,
                        validate=validate.Length(min=1, max=MAX_LINES))


class StockTakeLineSchema(Schema):
    product_id = fields.Integer()
    expected = fields.Integer(metadata={"description": "the stored count when counted"})
    counted = fields.Integer()
    difference = fields.Integer(metadata={"description": "posted as a stock movement"})


class StockTakeSchema(Schema):
    id = fields.Integer()
    supermarket_id = fields.Integer()
    reason = fields.String()
    note = fields.String()
    staff_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(StockTakeLineSchema))


class PriceChangeCreateSchema(Schema):
    price = coins(required=True, validate=validate.Range(min=1, max=MAX_PRICE))
    effective_on = fields.Date(load_default=None, metadata={"description": "local date; default today"})


class PriceChangeSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    old_price = fields.Integer()
    price = fields.Integer()
    effective_on = fields.Date()
    created_by = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    applied_at = fields.DateTime(allow_none=True)
