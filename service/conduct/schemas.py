from marshmallow import Schema, fields, validate

from ..schemas import (
    MAX_COINS,
    PageQuerySchema,
    coins,
    exactly_one_of,
    flag,
    query_id,
    ref_id,
    signed_coins,
    text,
)
from ..volunteering.schemas import NoNulSchema

CODE = validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$", error="letters, digits, - and _ only")
CATEGORY = validate.Regexp(r"^[a-z0-9_]{1,32}$", error="a category code: lower-case letters, digits and _")
BENEFICIARIES = ["member", "household"]
STATUSES = ["announced", "credited", "disputed", "reversed"]


class IndicatorCategorySchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()


class IndicatorUpdateSchema(NoNulSchema):
    name = text(100, required=False)
    name_en = text(100, required=False, min_length=0)
    category = fields.String(validate=CATEGORY)
    points = signed_coins(metadata={"description": "positive: bonus (加分项); negative: deduction (扣分项)"})
    beneficiary = fields.String(validate=validate.OneOf(BENEFICIARIES))
    monthly_cap_points = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_COINS),
        metadata={"description": "at most this many points (absolute) per beneficiary per calendar month"},
    )
    active = flag()


class IndicatorCreateSchema(IndicatorUpdateSchema):
    community_id = ref_id(required=True)
    code = fields.String(required=True, validate=CODE)
    name = text(100)
    category = fields.String(required=True, validate=CATEGORY)
    points = signed_coins(required=True)
    beneficiary = fields.String(load_default="member", validate=validate.OneOf(BENEFICIARIES))


class IndicatorSchema(IndicatorCreateSchema):
    id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class IndicatorQuerySchema(Schema):
    community_id = query_id()
    category = fields.String(validate=CATEGORY)
    active = fields.Boolean()


class IndicatorSeedSchema(Schema):
    community_id = ref_id(required=True)


class AwardCreateSchema(NoNulSchema):
    indicator_id = ref_id(required=True)
    member_id = ref_id()
    household_id = ref_id()
    earned_by_member_id = ref_id(metadata={"description": "household awards: the member who earned it"})
    note = text(500)
    evidence = text(2000, required=False, min_length=0)
    station_id = ref_id(metadata={"description": "administrators: where; station staff: always their station"})

    one_beneficiary = exactly_one_of(
        "member_id", "household_id", message="name exactly one of member_id and household_id", field_name="member_id"
    )


class AwardSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    indicator_id = fields.Integer()
    indicator_code = fields.String()
    indicator_name = fields.String()
    category = fields.String()
    points = fields.Integer(metadata={"description": "as applied when awarded"})
    member_id = fields.Integer(allow_none=True)
    household_id = fields.Integer(allow_none=True)
    earned_by_member_id = fields.Integer(allow_none=True)
    note = fields.String()
    evidence = fields.String()
    station_id = fields.Integer(allow_none=True)
    awarded_by = fields.Integer(allow_none=True)
    award_date = fields.Date()
    status = fields.String(metadata={"description": "announced (公示期), credited, disputed, reversed"})
    credit_due_on = fields.Date()
    credited_at = fields.DateTime(allow_none=True)
    amount_posted = fields.Integer(allow_none=True, metadata={"description": "signed coins that moved"})
    shortfall = fields.Integer(metadata={"description": "deduction points the wallet could not cover"})
    transaction_id = fields.Integer(allow_none=True)
    reversed_by = fields.Integer(allow_none=True)
    reversed_at = fields.DateTime(allow_none=True)
    reversal_reason = fields.String(allow_none=True)
    reversal_transaction_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class AwardQuerySchema(PageQuerySchema):
    community_id = query_id()
    member_id = query_id()
    household_id = query_id()
    indicator_id = query_id()
    status = fields.String(validate=validate.OneOf(STATUSES))


class AwardReversalSchema(NoNulSchema):
    reason = text(500)


class BudgetCreateSchema(NoNulSchema):
    community_id = ref_id(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True, metadata={"description": "inclusive"})
    coins = coins(required=True, validate=validate.Range(min=1, max=10**9))
    note = text(500, required=False, min_length=0)


class BudgetSchema(BudgetCreateSchema):
    id = fields.Integer(dump_only=True)
    used = fields.Integer(dump_only=True, metadata={"description": "bonus points awarded in the period"})
    remaining = fields.Integer(dump_only=True)


class BudgetQuerySchema(Schema):
    community_id = query_id()


class FlagCreateSchema(Schema):
    award_id = ref_id()
    service_record_id = ref_id()
    reason = text(1000)

    _one_subject = exactly_one_of(
        "award_id", "service_record_id", message="name exactly one of award_id and service_record_id",
        field_name="award_id",
    )


class FlagResolveSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["keep", "reverse"]))
    note = text(1000)


class FlagQuerySchema(PageQuerySchema):
    community_id = query_id()
    status = fields.String(validate=validate.OneOf(["open", "kept", "reversed"]), load_default=None)


class FlagSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    award_id = fields.Integer(allow_none=True)
    service_record_id = fields.Integer(allow_none=True)
    transaction_id = fields.Integer(allow_none=True)
    reason = fields.String()
    flagged_by = fields.Integer()
    flagged_at = fields.DateTime()
    status = fields.String(metadata={"description": "open | kept | reversed"})
    resolved_by = fields.Integer(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    reversal_transaction_id = fields.Integer(allow_none=True)


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
