from marshmallow import Schema, fields, validate

from ..schemas import PageQuerySchema, flag, query_id, ref_id, text
from ..volunteering.schemas import NoNulSchema

MINUTES = validate.Range(min=1, max=100 * 60)


class ProviderUpdateSchema(NoNulSchema):
    name = text(100, required=False)
    contact = text(100, required=False, min_length=0)
    description = text(1000, required=False, min_length=0)
    active = flag()


class ProviderCreateSchema(ProviderUpdateSchema):
    community_id = ref_id(required=True)
    name = text(100)


class ProviderSchema(ProviderCreateSchema):
    id = fields.Integer(dump_only=True)
    hours_minutes = fields.Integer(dump_only=True, metadata={"description": "minutes received so far"})


class ProviderQuerySchema(Schema):
    community_id = query_id()


class TimebankServiceUpdateSchema(NoNulSchema):
    name = text(100, required=False)
    name_en = text(100, required=False, min_length=0)
    category = text(32, required=False, min_length=0)
    minutes = fields.Integer(strict=True, validate=MINUTES, metadata={"description": "price in time-bank minutes"})
    description = text(1000, required=False, min_length=0)
    active = flag()


class TimebankServiceCreateSchema(TimebankServiceUpdateSchema):
    provider_id = ref_id(required=True)
    name = text(100)
    minutes = fields.Integer(strict=True, required=True, validate=MINUTES)


class TimebankServiceSchema(TimebankServiceCreateSchema):
    id = fields.Integer(dump_only=True)
    community_id = fields.Integer(dump_only=True)


class TimebankServiceQuerySchema(Schema):
    community_id = query_id()
    provider_id = query_id()
    active = fields.Boolean()


class ServiceRedemptionCreateSchema(NoNulSchema):
    member_id = ref_id(required=True)
    service_id = ref_id(required=True)
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=100))
    note = text(500, required=False, min_length=0)


class ServiceRedemptionSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    member_id = fields.Integer()
    service_id = fields.Integer()
    provider_id = fields.Integer()
    service_name = fields.String()
    quantity = fields.Integer()
    minutes = fields.Integer(metadata={"description": "total paid, at the price in force"})
    note = fields.String()
    status = fields.String()
    recorded_by = fields.Integer(allow_none=True)
    station_id = fields.Integer(allow_none=True)
    transaction_id = fields.Integer(allow_none=True)
    reversed_by = fields.Integer(allow_none=True)
    reversal_reason = fields.String(allow_none=True)
    reversal_transaction_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ServiceRedemptionQuerySchema(PageQuerySchema):
    community_id = query_id()
    member_id = query_id()
    provider_id = query_id()


class RedemptionReversalSchema(NoNulSchema):
    reason = text(500)


class TransferCreateSchema(NoNulSchema):
    from_member_id = ref_id(required=True)
    to_member_id = ref_id(required=True)
    minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000 * 60))
    relation = fields.String(
        required=True,
        metadata={"description": "the receiver is the giver's parent, child, spouse, grandparent, grandchild, "
                  "sibling, parent_in_law or child_in_law; or household: a member of the giver's own household "
                  "(checked against the household register)"},
        validate=validate.Length(min=1, max=20),
    )
    note = text(500, required=False, min_length=0)


class TransferSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    from_member_id = fields.Integer()
    to_member_id = fields.Integer()
    relation = fields.String()
    minutes = fields.Integer()
    note = fields.String()
    created_by_staff_id = fields.Integer(allow_none=True)
    created_by_member_id = fields.Integer(allow_none=True)
    transaction_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class TransferQuerySchema(PageQuerySchema):
    community_id = query_id()
    member_id = query_id()
