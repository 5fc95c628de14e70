from marshmallow import Schema, fields, validate

from ..schemas import PageQuerySchema, query_id, ref_id, text


class JobRunQuerySchema(PageQuerySchema):
    job = fields.String(validate=validate.Length(max=48), load_default=None)


class JobRunSchema(Schema):
    id = fields.Integer()
    job = fields.String()
    business_date = fields.Date(allow_none=True)
    trigger = fields.String()
    status = fields.String(metadata={"description": "running | succeeded | failed"})
    attempts = fields.Integer()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    counts = fields.Dict()
    error = fields.String(allow_none=True)


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


class FlagCreateSchema(Schema):
    award_id = ref_id(required=True)
    reason = text(1000)


class FlagResolveSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["keep", "reverse"]))
    note = text(1000)


class FlagQuerySchema(PageQuerySchema):
    community_id = query_id()
    status = fields.String(validate=validate.OneOf(["open", "kept", "reversed"]), load_default=None)


class FlagSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    award_id = fields.Integer()
    transaction_id = fields.Integer(allow_none=True)
    reason = fields.String()
    flagged_by = fields.Integer()
    flagged_at = fields.DateTime()
    status = fields.String(metadata={"description": "open | kept | reversed"})
    resolved_by = fields.Integer(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    reversal_transaction_id = fields.Integer(allow_none=True)


class FraudAlertQuerySchema(PageQuerySchema):
    community_id = query_id()
    kind = fields.String(validate=validate.Length(max=40), load_default=None)


class FraudAlertSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    kind = fields.String(
        metadata={"description": "frequent_crediting | overlapping_records | implausible_record | two_stations_at_once"}
    )
    subject = fields.String()
    business_date = fields.Date()
    details = fields.Dict()
    status = fields.String()
    created_at = fields.DateTime()


class DisclosureRowSchema(Schema):
    date = fields.String(metadata={"description": "local date YYYY-MM-DD"})
    kind = fields.String(metadata={"description": "award | deduction | reversal | announced"})
    name = fields.String(metadata={"description": "masked like 张*三"})
    volunteer_number = fields.String(allow_none=True)
    indicator = fields.String()
    category = fields.String(allow_none=True)
    points = fields.Integer()
    award_id = fields.Integer(allow_none=True)
    transaction_id = fields.Integer(allow_none=True)


class SupermarketTotalsSchema(Schema):
    supermarket_id = fields.Integer()
    name = fields.String()
    redemptions = fields.Integer()
    coins_redeemed = fields.Integer()
    refunds = fields.Integer()
    coins_refunded = fields.Integer()
    net_coins = fields.Integer()


class DisclosureFlagSchema(Schema):
    flag_id = fields.Integer()
    award_id = fields.Integer()
    flagged_on = fields.String()
    reason = fields.String()
    status = fields.String()
    resolved_on = fields.String(allow_none=True)
    resolution_note = fields.String(allow_none=True)


class DisclosureSchema(Schema):
    community_id = fields.Integer()
    community_name = fields.String()
    month = fields.String()
    generated_at = fields.DateTime()
    rows = fields.List(fields.Nested(DisclosureRowSchema))
    supermarkets = fields.List(fields.Nested(SupermarketTotalsSchema))
    flags = fields.List(fields.Nested(DisclosureFlagSchema))
    totals = fields.Dict()


class DisclosureListSchema(Schema):
    month = fields.String()
    generated_at = fields.DateTime()


class ExpiringSchema(Schema):
    member_id = fields.Integer()
    expires_on = fields.Date(allow_none=True, metadata={"description": "end of this local date; null = no expiry"})
    coins = fields.Integer(metadata={"description": "coins that expire then unless spent first"})
    household_coins = fields.Integer(allow_none=True)
    within_days = fields.Integer()


class StarChangeSchema(Schema):
    business_date = fields.Date()
    from_star = fields.Integer()
    to_star = fields.Integer()
    lifetime_minutes = fields.Integer()
    reason = fields.String()
    transaction_id = fields.Integer(allow_none=True)


class StarsSchema(Schema):
    member_id = fields.Integer()
    star = fields.Integer()
    lifetime_minutes = fields.Integer()
    since = fields.Date(allow_none=True)
    history = fields.List(fields.Nested(StarChangeSchema))
