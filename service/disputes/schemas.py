from marshmallow import Schema, fields, validate

from ..schemas import PageQuerySchema, query_id, ref_id, text
from ..volunteering.schemas import NoNulSchema
from .models import DisputeStatus

STATUSES = [s.value for s in DisputeStatus]


class DisputeCreateSchema(NoNulSchema):
    transaction_id = ref_id(required=True, metadata={"description": "the statement line's transaction"})
    reason = text(1000)
    member_id = ref_id(metadata={"description": "desk staff opening a dispute for a resident; residents omit it"})


class DisputeResolveSchema(NoNulSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(["keep", "correct"]))
    note = text(1000)


class DisputeSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    member_id = fields.Integer()
    transaction_id = fields.Integer()
    transaction_kind = fields.String()
    reason = fields.String()
    status = fields.String(metadata={"enum": STATUSES})
    opened_at = fields.DateTime()
    opened_by_staff_id = fields.Integer(allow_none=True)
    answer_due_at = fields.DateTime()
    escalated_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.Integer(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    correction_transaction_id = fields.Integer(allow_none=True)


class DisputeQuerySchema(PageQuerySchema):
    community_id = query_id()
    status = fields.String(validate=validate.OneOf(STATUSES))


class DisputePolicySchema(NoNulSchema):
    window_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=366))
    answer_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=90))
