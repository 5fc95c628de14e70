from marshmallow import Schema, fields, validate

from ..schemas import ref_id, text
from .models import STAFF_ROLES


class TokenRequestSchema(Schema):
    username = text(64)
    password = text(200)


class ResidentTokenRequestSchema(Schema):
    card_code = text(32)
    pin = text(8)


class TokenSchema(Schema):
    token = fields.String()
    expires_at = fields.DateTime()


class StaffCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=200))
    name = text(100)
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in STAFF_ROLES]))
    community_id = ref_id(allow_none=True)
    station_id = ref_id(allow_none=True)
    supermarket_id = ref_id(allow_none=True)


class StaffSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    role = fields.String()
    community_id = fields.Integer(allow_none=True)
    station_id = fields.Integer(allow_none=True)
    supermarket_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class WhoAmISchema(Schema):
    role = fields.String()
    staff_id = fields.Integer(allow_none=True)
    member_id = fields.Integer(allow_none=True)
    community_id = fields.Integer(allow_none=True)
    station_id = fields.Integer(allow_none=True)
    supermarket_id = fields.Integer(allow_none=True)
    name = fields.String()
