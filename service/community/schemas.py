from marshmallow import Schema, fields, validate

from ..schemas import MAX_COINS, MAX_MINUTES, flag, ref_id, text

MONTH_DAY = validate.Regexp(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$", error="use MM-DD")
CODE = validate.Regexp(r"^[A-Za-z0-9_-]{1,32}$", error="letters, digits, - and _ only")


class CommunitySettingsSchema(Schema):
    name = text(100, required=False)
    name_en = text(100, required=False, min_length=0)
    coins_per_hour = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    daily_cap_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=24 * 60))
    late_entry_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=366))
    four_eyes = flag()
    notice_period_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=60))
    hour_storage_cap_minutes = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_MINUTES)
    )
    min_spend_age = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=120))
    coin_expiry_month_day = fields.String(allow_none=True, validate=MONTH_DAY)
    fraud_frequent_credits = fields.Integer(
        strict=True, validate=validate.Range(min=2, max=1000),
        metadata={"description": "alert when one staff member credits one wallet this often in the window"},
    )
    fraud_frequent_window_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=366))
    fraud_long_record_minutes = fields.Integer(
        strict=True, validate=validate.Range(min=30, max=24 * 60),
        metadata={"description": "alert on one service record longer than this"},
    )
    fraud_day_total_minutes = fields.Integer(
        strict=True, validate=validate.Range(min=30, max=24 * 60),
        metadata={"description": "alert when one volunteer logs more than this on one day"},
    )
    objection_contact = text(200, required=False, min_length=0, allow_none=True, metadata={
        "description": "who takes objections to the monthly disclosure (printed on the notice-board sheet)"})
    certificate_issuer = text(200, required=False, min_length=0, allow_none=True, metadata={
        "description": "the issuing organisation on certificates (default: the community's name)"})
    person_in_charge = text(100, required=False, min_length=0, allow_none=True, metadata={
        "description": "the person in charge named on certificates"})
    helper_monthly_coin_cap = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=MAX_COINS),
        metadata={"description": "the most coins a helper (代办) may spend for one elder in a calendar month; "
                  "a grant may set less, never more, and lowering this applies to every grant at once"},
    )


class CommunityCreateSchema(CommunitySettingsSchema):
    code = fields.String(required=True, validate=CODE)
    name = text(100)


class CommunitySchema(CommunityCreateSchema):
    id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class PlaceCreateSchema(Schema):
    community_id = ref_id(required=True)
    code = fields.String(required=True, validate=CODE)
    name = text(100)
    address = text(200, required=False, min_length=0)


class PlaceSchema(PlaceCreateSchema):
    id = fields.Integer(dump_only=True)
    active = flag(dump_only=True)
