from marshmallow import Schema, fields, validate

from ..schemas import MAX_COINS, ref_id
from ..volunteering.schemas import NoNulSchema
from .operations import HELPER_RELATIONS


class HelperGrantCreateSchema(NoNulSchema):
    elder_member_id = ref_id(required=True, metadata={"description": "the resident who is helped"})
    helper = fields.String(
        required=True, validate=validate.Length(min=1, max=20),
        metadata={"description": "the helper's volunteer number (a resident of the same community)"},
    )
    relation = fields.String(required=True, validate=validate.OneOf(HELPER_RELATIONS))
    monthly_coin_cap = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_COINS))


class HelperGrantSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    elder_member_id = fields.Integer()
    helper_member_id = fields.Integer()
    relation = fields.String()
    monthly_coin_cap = fields.Integer()
    granted_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class ActingForSchema(Schema):
    grant_id = fields.Integer()
    elder_member_id = fields.Integer()
    elder_name = fields.String(metadata={"description": "masked"})
    relation = fields.String()
    coins = fields.Integer()
    hours_minutes = fields.Integer()
    monthly_coin_cap = fields.Integer()
    coins_left_this_month = fields.Integer()
