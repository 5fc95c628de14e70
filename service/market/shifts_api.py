"""``/shifts``: a cashier opens a shift, closes it with the counts, and reads its close-out (交班)
(on the market blueprint). Baskets need no shift here; the counter page asks for one."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ..auth.access import access, current_principal
from ..errors import NotFound
from ..extensions import db
from ..schemas import ErrorSchema, flag, query_id, ref_id, text
from . import documents, shifts
from .api import COUNTER, READERS, blp
from .schemas import CloseOutSchema, MarketListQuerySchema

MAX_SLIPS = 100_000


class ShiftOpenSchema(Schema):
    supermarket_id = ref_id(metadata={"description": "defaults to the cashier's own supermarket"})


class ShiftCloseSchema(Schema):
    declared_baskets = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=MAX_SLIPS),
        metadata={"description": "basket receipts (小票) the cashier counted in the tray"},
    )
    declared_refunds = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=MAX_SLIPS),
        metadata={"description": "refund slips the cashier counted"},
    )
    note = text(500, required=False, min_length=0, load_default="")


class ShiftQuerySchema(MarketListQuerySchema):
    cashier_id = query_id()


class ShiftSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    supermarket_id = fields.Integer()
    cashier_id = fields.Integer()
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    open = flag()
    declared_baskets = fields.Integer(allow_none=True)
    declared_refunds = fields.Integer(allow_none=True)
    booked_baskets = fields.Integer(allow_none=True, metadata={"description": "what the books said at closing"})
    booked_refunds = fields.Integer(allow_none=True)
    booked_coins_taken = fields.Integer(allow_none=True)
    booked_coins_refunded = fields.Integer(allow_none=True)
    basket_difference = fields.Integer(allow_none=True, metadata={"description": "declared − booked"})
    refund_difference = fields.Integer(allow_none=True, metadata={"description": "declared − booked"})
    note = fields.String()


class ShiftCloseOutSchema(CloseOutSchema):
    shift = fields.Nested(ShiftSchema)


@blp.route("/shifts")
class Shifts(MethodView):
    @access(*READERS)
    @blp.arguments(ShiftQuerySchema, location="query")
    @blp.response(200, ShiftSchema(many=True))
    def get(self, query):
        """Shifts, newest first (``before`` = the last id of the previous page); cashiers see their own."""
        return [shifts.shift_view(s) for s in shifts.list_shifts(db.session, current_principal(), **query)]

    @access(*COUNTER)
    @blp.arguments(ShiftOpenSchema)
    @blp.response(201, ShiftSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="shift_already_open (details.shift_id)")
    def post(self, data):
        """Open the caller's shift (nothing to count: coins are not cash). One open shift per person."""
        principal = current_principal()
        return db.run(lambda s: shifts.shift_view(shifts.open_shift(s, principal, **data)))


@blp.route("/shifts/current")
class CurrentShift(MethodView):
    @access(*COUNTER)
    @blp.response(200, ShiftSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no_open_shift")
    def get(self):
        """The caller's open shift."""
        shift = shifts.current_shift(db.session, current_principal())
        if shift is None:
            raise NotFound("you have no open shift", code="no_open_shift")
        return shifts.shift_view(shift)


@blp.route("/shifts/<int:shift_id>")
class ShiftById(MethodView):
    @access(*READERS)
    @blp.response(200, ShiftSchema)
    def get(self, shift_id):
        return shifts.shift_view(shifts.get_shift(db.session, current_principal(), shift_id))


@blp.route("/shifts/<int:shift_id>/close")
class ShiftClose(MethodView):
    @access(*COUNTER)
    @blp.arguments(ShiftCloseSchema)
    @blp.response(200, ShiftSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="shift_closed (closed before with other counts)")
    def post(self, data, shift_id):
        """Close the shift with the receipts and refund slips counted; the books' counts are kept beside
        them. The same counts again answer the closed shift."""
        principal = current_principal()
        return db.run(lambda s: shifts.shift_view(shifts.close_shift(s, principal, shift_id, **data)))


@blp.route("/shifts/<int:shift_id>/close-out")
class ShiftCloseOut(MethodView):
    @access(*READERS)
    @blp.response(200, ShiftCloseOutSchema)
    def get(self, shift_id):
        """The shift's close-out (交班): exactly its baskets and refunds, opening to closing (or now)."""
        return shifts.shift_close_out(db.session, current_principal(), shift_id)


@blp.route("/shifts/<int:shift_id>/close-out.csv")
class ShiftCloseOutCsv(MethodView):
    @access(*READERS)
    @blp.response(200, description="the shift's close-out as CSV (UTF-8 with BOM)", content_type="text/csv")
    def get(self, shift_id):
        return documents.close_out_csv(shifts.shift_close_out(db.session, current_principal(), shift_id))
