from marshmallow import Schema, fields, validate

from ..market.schemas import MarketBasketLineSchema
from ..schemas import PageQuerySchema, ref_id
from .models import ReservationStatus


class ReservationCreateSchema(Schema):
    supermarket_id = ref_id(required=True)
    lines = fields.List(fields.Nested(MarketBasketLineSchema), required=True, validate=validate.Length(min=1, max=20))


class ReservationLineSchema(Schema):
    product_id = fields.Integer()
    name = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()


class ReservationSchema(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"description": "shown as a QR code; the cashier scans it to hand the goods over"})
    supermarket_id = fields.Integer()
    member_id = fields.Integer()
    status = fields.String(metadata={"enum": [s.value for s in ReservationStatus]})
    total = fields.Integer(metadata={"description": "coins held until pickup, lapse or cancellation"})
    deadline = fields.DateTime()
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    redemption_id = fields.Integer(allow_none=True)
    lines = fields.List(fields.Nested(ReservationLineSchema))


class ReservationCodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^\s*[rR][0-9A-Za-z]{10}\s*$"))


class ReservationQuerySchema(PageQuerySchema):
    pass
