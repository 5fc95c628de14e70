from marshmallow import Schema, fields, validate

from ..schemas import PageQuerySchema


class JobRunQuerySchema(PageQuerySchema):
    job = fields.String(validate=validate.Length(max=48), load_default=None)


class JobRunSchema(Schema):
    id = fields.Integer()
    job = fields.String()
    business_date = fields.Date(allow_none=True)
    trigger = fields.String()
    status = fields.String(metadata={"description": "queued | running | succeeded | failed"})
    attempts = fields.Integer()
    started_at = fields.DateTime(metadata={"description": "when it started (a queued run: when it was asked for)"})
    finished_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    counts = fields.Dict()
    error = fields.String(allow_none=True)
    requested_by = fields.Integer(allow_none=True, metadata={"description": "the staff member who asked for it"})
    params = fields.Dict(allow_none=True)
    progress = fields.Dict(allow_none=True, metadata={"description": "{step, done, total} while it runs"})


class DiscrepancySchema(Schema):
    check = fields.String()
    subject = fields.String()
    expected = fields.String(allow_none=True)
    actual = fields.String(allow_none=True)


class ReconciliationSchema(Schema):
    id = fields.Integer()
    mode = fields.String(metadata={"description": "full | incremental"})
    trigger = fields.String()
    business_date = fields.Date(allow_none=True)
    status = fields.String(metadata={"description": "passed | failed"})
    started_at = fields.DateTime()
    finished_at = fields.DateTime()
    duration_ms = fields.Integer()
    checks = fields.Dict(metadata={"description": "check -> discrepancies it found"})
    counts = fields.Dict()
    discrepancy_count = fields.Integer()
    upto_transaction_id = fields.Integer()
    upto_chain_seq = fields.Integer()
    upto_chain_hash = fields.String()


class ReconciliationDetailSchema(ReconciliationSchema):
    discrepancies = fields.List(fields.Nested(DiscrepancySchema))


class ReconciliationRunSchema(Schema):
    mode = fields.String(load_default="full", validate=validate.OneOf(["full", "incremental"]))
