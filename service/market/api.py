"""Love supermarkets (爱心超市): catalogue, stock receipts, cashier look-up, baskets, refunds,
receipts and the cashier's close-out."""

from flask.views import MethodView

from ..auth.access import EVERYONE, STAFF, access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent, ledger_key_for_request
from ..schemas import ErrorSchema
from . import documents, helped, operations
from .schemas import (
    CatalogueItemSchema,
    CatalogueQuerySchema,
    CloseOutQuerySchema,
    CloseOutSchema,
    DailyTotalsQuerySchema,
    DailyTotalsSchema,
    LookupQuerySchema,
    MarketListQuerySchema,
    MarketReceiptSchema,
    MarketRedemptionCreateSchema,
    MarketRedemptionQuerySchema,
    MarketRedemptionSchema,
    MarketRefundCreateSchema,
    MarketRefundSchema,
    ProductCreateSchema,
    ProductQuerySchema,
    ProductSchema,
    ProductUpdateSchema,
    ResidentSummarySchema,
    StockReceiptCreateSchema,
    StockReceiptSchema,
)

blp = Blueprint(
    "market", __name__, url_prefix="/api/v1",
    description="Love supermarkets (爱心超市): catalogue, stock, baskets, refunds, receipts, close-out",
)

COUNTER = (Role.ADMIN, Role.CASHIER)  # who works the till
READERS = (Role.ADMIN, Role.CASHIER, Role.SUPERVISOR)
BASKET_REFUSED = (
    "basket_refused: details.lines names every failing line (unknown_sku, unknown_product, wrong_supermarket: 422; "
    "out_of_stock, inactive_product: 409) and details.wallet an insufficient_balance (409)"
)


# --- catalogue -----------------------------------------------------------------------------------


@blp.route("/products")
class Products(MethodView):
    @access(*STAFF)
    @blp.arguments(ProductQuerySchema, location="query")
    @blp.response(200, ProductSchema(many=True))
    def get(self, query):
        """Catalogue with exact stock, for staff of the community (cashiers: their supermarket)."""
        return operations.list_products(db.session, current_principal(), **query)

    @access(Role.ADMIN)
    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="sku_taken")
    def post(self, data):
        """Add a product (administrators). SKU unique per supermarket; stock starts at 0."""
        principal = current_principal()
        return db.run(lambda s: operations.create_product(s, principal, **data))


@blp.route("/products/<int:product_id>")
class ProductById(MethodView):
    @access(*STAFF)
    @blp.response(200, ProductSchema)
    def get(self, product_id):
        product = operations.get_product(db.session, product_id)
        current_principal().require_community(product.community_id, what="product")
        return product

    @access(Role.ADMIN)
    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, ProductSchema)
    def patch(self, changes, product_id):
        """Rename, reprice, (de)activate. Stock changes only by receipts, baskets and refunds."""
        principal = current_principal()
        return db.run(lambda s: operations.update_product(s, principal, product_id, changes))

    @access(Role.ADMIN)
    @blp.response(200, ProductSchema)
    def delete(self, product_id):
        """Take a product off sale (it stays in the catalogue's history: past baskets refer to it)."""
        principal = current_principal()
        return db.run(lambda s: operations.update_product(s, principal, product_id, {"active": False}))


@blp.route("/catalogue")
class Catalogue(MethodView):
    @access(*EVERYONE)
    @blp.arguments(CatalogueQuerySchema, location="query")
    @blp.response(200, CatalogueItemSchema(many=True))
    def get(self, query):
        """What the supermarkets of the caller's community offer, with stock as in_stock / few_left / out."""
        return operations.catalogue(db.session, current_principal(), **query)


# --- stock ---------------------------------------------------------------------------------------


@blp.route("/stock-receipts")
class StockReceipts(MethodView):
    @access(*READERS)
    @blp.arguments(MarketListQuerySchema, location="query")
    @blp.response(200, StockReceiptSchema(many=True))
    def get(self, query):
        return operations.list_stock_receipts(db.session, current_principal(), **query)

    @access(*COUNTER)
    @blp.arguments(StockReceiptCreateSchema)
    @blp.response(201, StockReceiptSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="receipt_refused, duplicate_lines")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Goods in (入库): a donation or purchase, by an administrator or the supermarket's cashier."""
        principal = current_principal()

        def work(session):
            receipt = operations.receive_stock(session, principal, **data)
            return StockReceiptSchema().dump(receipt), 201

        return idempotent(data, work)


@blp.route("/stock-receipts/<int:receipt_id>")
class StockReceiptById(MethodView):
    @access(*READERS)
    @blp.response(200, StockReceiptSchema)
    def get(self, receipt_id):
        return operations.get_stock_receipt(db.session, current_principal(), receipt_id)


# --- the counter ---------------------------------------------------------------------------------


@blp.route("/supermarkets/<int:supermarket_id>/lookup")
class ResidentLookup(MethodView):
    @access(*COUNTER)
    @blp.arguments(LookupQuerySchema)
    @blp.response(200, ResidentSummarySchema(many=True))
    @blp.alt_response(404, schema=ErrorSchema, description="member_not_found")
    def post(self, query, supermarket_id):
        """Find a resident by card code (the QR; case, spaces and dashes ignored) or phone: masked
        name and coins, nothing else personal. A POST: card codes never travel in a URL."""
        supermarket = operations.supermarket_for(db.session, current_principal(), supermarket_id)
        return operations.find_residents(db.session, supermarket, **query)


# The basket's schemas, made once: a schema instance costs more to build than a basket to validate.
BASKET_IN, BASKET_OUT = MarketRedemptionCreateSchema(), MarketRedemptionSchema()


@blp.route("/redemptions")
class Redemptions(MethodView):
    @access(Role.ADMIN, Role.CASHIER, Role.SUPERVISOR, Role.RESIDENT)
    @blp.arguments(MarketRedemptionQuerySchema, location="query")
    @blp.response(200, MarketRedemptionSchema(many=True))
    def get(self, query):
        """Baskets, newest first (``before`` = the last id of the previous page); residents see their own."""
        return operations.list_redemptions(db.session, current_principal(), **query)

    @access(*COUNTER)
    @blp.arguments(BASKET_IN)
    @blp.response(201, MarketRedemptionSchema)
    @blp.alt_response(409, schema=ErrorSchema, description=BASKET_REFUSED)
    @blp.alt_response(404, schema=ErrorSchema, description="member_not_found, helper_not_found")
    @blp.alt_response(403, schema=ErrorSchema, description="helper_revoked, not_a_helper")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Redeem a basket, all or nothing: coins wallet → till and stock down in one transaction.

        With ``helper_card_code`` (or ``helper_member_id``) a named helper (代办) redeems for the resident:
        the resident's own coins, both people recorded, refused if the helper was withdrawn (403
        helper_revoked / not_a_helper) or the basket would pass the helper's monthly coin cap (409
        helper_cap_exceeded). Baskets need no open shift here (integrations); the counter page asks for one."""
        principal = current_principal()
        key = ledger_key_for_request()
        if "helper_card_code" in data or "helper_member_id" in data:
            return idempotent(data, lambda s: (BASKET_OUT.dump(
                helped.redeem_for_elder(s, principal, idempotency_key=key, **data)), 201))

        def work(session):
            answered = {}

            def respond(redemption):  # stored for replays in the basket's own last statement
                answered["body"] = BASKET_OUT.dump(redemption)
                return answered["body"], 201

            redemption = operations.redeem(session, principal, idempotency_key=key, respond=respond, **data)
            return answered.get("body") or BASKET_OUT.dump(redemption), 201

        return idempotent(data, work)


@blp.route("/redemptions/<int:redemption_id>")
class RedemptionById(MethodView):
    @access(Role.ADMIN, Role.CASHIER, Role.SUPERVISOR, Role.RESIDENT)
    @blp.response(200, MarketRedemptionSchema)
    def get(self, redemption_id):
        return operations.get_redemption(db.session, current_principal(), redemption_id)


@blp.route("/redemptions/<int:redemption_id>/refund")
class RedemptionRefund(MethodView):
    @access(*COUNTER)
    @blp.arguments(MarketRefundCreateSchema)
    @blp.response(201, MarketRefundSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="refund_refused (line_already_refunded), already_refunded")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data, redemption_id):
        """Refund the whole basket (omit ``lines``) or some lines; coins and stock go back. Reason required."""
        principal = current_principal()
        key = ledger_key_for_request()

        def work(session):
            refund = operations.refund_redemption(
                session, principal, redemption_id=redemption_id, idempotency_key=key, **data
            )
            return MarketRefundSchema().dump(refund), 201

        return idempotent({"redemption_id": redemption_id, **data}, work)


@blp.route("/refunds/<int:refund_id>")
class RefundById(MethodView):
    @access(Role.ADMIN, Role.CASHIER, Role.SUPERVISOR, Role.RESIDENT)
    @blp.response(200, MarketRefundSchema)
    def get(self, refund_id):
        return operations.get_refund(db.session, current_principal(), refund_id)


# --- receipts ------------------------------------------------------------------------------------


@blp.route("/redemptions/<int:redemption_id>/receipt")
class RedemptionReceipt(MethodView):
    @access(Role.ADMIN, Role.CASHIER, Role.SUPERVISOR, Role.RESIDENT)
    @blp.response(200, MarketReceiptSchema)
    def get(self, redemption_id):
        """The basket's receipt: number, local time, masked resident, lines, total, balance after."""
        redemption = operations.get_redemption(db.session, current_principal(), redemption_id)
        return operations.redemption_receipt(db.session, redemption)


@blp.route("/redemptions/<int:redemption_id>/receipt.html")
class RedemptionReceiptPrintable(MethodView):
    @access(Role.ADMIN, Role.CASHIER, Role.SUPERVISOR, Role.RESIDENT)
    @blp.response(200, description="printable receipt (58 mm)", content_type="text/html")
    def get(self, redemption_id):
        redemption = operations.get_redemption(db.session, current_principal(), redemption_id)
        return documents.receipt_html(operations.redemption_receipt(db.session, redemption))


@blp.route("/refunds/<int:refund_id>/receipt")
class RefundReceipt(MethodView):
    @access(Role.ADMIN, Role.CASHIER, Role.SUPERVISOR, Role.RESIDENT)
    @blp.response(200, MarketReceiptSchema)
    def get(self, refund_id):
        return operations.refund_receipt(db.session, operations.get_refund(db.session, current_principal(), refund_id))


@blp.route("/refunds/<int:refund_id>/receipt.html")
class RefundReceiptPrintable(MethodView):
    @access(Role.ADMIN, Role.CASHIER, Role.SUPERVISOR, Role.RESIDENT)
    @blp.response(200, description="printable refund receipt (58 mm)", content_type="text/html")
    def get(self, refund_id):
        refund = operations.get_refund(db.session, current_principal(), refund_id)
        return documents.receipt_html(operations.refund_receipt(db.session, refund))


# --- the cashier's day ---------------------------------------------------------------------------


@blp.route("/supermarkets/<int:supermarket_id>/close-out")
class CloseOut(MethodView):
    @access(*READERS)
    @blp.arguments(CloseOutQuerySchema, location="query")
    @blp.response(200, CloseOutSchema)
    def get(self, query, supermarket_id):
        """Shift close-out (交班): a cashier's baskets and refunds in a period (default today), coins
        taken and goods handed out per SKU. Cashiers see their own shift."""
        return operations.close_out(db.session, current_principal(), supermarket_id=supermarket_id, **query)


@blp.route("/supermarkets/<int:supermarket_id>/close-out.csv")
class CloseOutCsv(MethodView):
    @access(*READERS)
    @blp.arguments(CloseOutQuerySchema, location="query")
    @blp.response(200, description="the close-out as CSV (UTF-8 with BOM)", content_type="text/csv")
    def get(self, query, supermarket_id):
        sheet = operations.close_out(db.session, current_principal(), supermarket_id=supermarket_id, **query)
        return documents.close_out_csv(sheet)


@blp.route("/supermarkets/<int:supermarket_id>/daily-totals")
class DailyTotals(MethodView):
    @access(*READERS)
    @blp.arguments(DailyTotalsQuerySchema, location="query")
    @blp.response(200, DailyTotalsSchema)
    def get(self, query, supermarket_id):
        """The supermarket's totals per local day (default: this month so far).

        ``first_day`` <= ``last_day``, at most 366 days apart (else 422 ``invalid_period``).
        """
        return operations.daily_totals(db.session, current_principal(), supermarket_id=supermarket_id, **query)


@blp.route("/supermarkets/<int:supermarket_id>/daily-totals.csv")
class DailyTotalsCsv(MethodView):
    @access(*READERS)
    @blp.arguments(DailyTotalsQuerySchema, location="query")
    @blp.response(200, description="daily totals as CSV (UTF-8 with BOM)", content_type="text/csv")
    def get(self, query, supermarket_id):
        """The daily totals as a spreadsheet; the same period rules as the JSON."""
        totals = operations.daily_totals(db.session, current_principal(), supermarket_id=supermarket_id, **query)
        return documents.daily_totals_csv(totals)


from . import shelf_api, shifts_api  # noqa: E402,F401  (stock-takes, price changes, shifts: on this blueprint)
