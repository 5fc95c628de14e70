from marshmallow import Schema, fields, validate

from ..schemas import exactly_one_of, flag, ref_id, text
from .models import STAFF_ROLES


class TokenRequestSchema(Schema):
    username = text(64)
    password = text(200)


class ResidentTokenRequestSchema(Schema):
    """Card code (any case, with or without spaces and dashes) or phone number, and the PIN."""

    card_code = text(64, required=False)
    phone = fields.String(validate=validate.Regexp(r"^[+\d][\d\s()-]{4,24}$", error="not a phone number"))
    pin = text(8)

    _one_identity = exactly_one_of("card_code", "phone", message="send either card_code or phone", field_name="card_code")


class PasswordChangeSchema(Schema):
    current_password = text(200)
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=200))


class SignedOutSchema(Schema):
    sessions_revoked = fields.Integer()


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
    active = flag()
    must_change_password = flag()


class PasswordResetSchema(Schema):
    staff = fields.Nested(StaffSchema)
    one_time_password = fields.String(metadata={"description": "shown once; valid only to choose a new password"})


class WhoAmISchema(Schema):
    role = fields.String()
    staff_id = fields.Integer(allow_none=True)
    member_id = fields.Integer(allow_none=True)
    community_id = fields.Integer(allow_none=True)
    station_id = fields.Integer(allow_none=True)
    supermarket_id = fields.Integer(allow_none=True)
    name = fields.String()
    must_change_password = flag()
