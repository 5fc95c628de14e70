from marshmallow import Schema, fields, validate

from ..schemas import PageQuerySchema, flag, query_id, ref_id, text
from .cards import CardCode
from .phones import MainlandMobile

PHONE = validate.Regexp(r"^\+?\d{5,15}$", error="digits only, 5 to 15")
PIN = validate.Regexp(r"^\d{4,8}$", error="4 to 8 digits")


class HouseholdCreateSchema(Schema):
    community_id = ref_id(required=True)
    name = text(100)
    address = text(200, required=False, min_length=0)
    head_member_id = ref_id(allow_none=True, metadata={"description": "the head of the household (户主), a member"})


class HouseholdSchema(HouseholdCreateSchema):
    id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class HouseholdUpdateSchema(Schema):
    name = text(100, required=False)
    address = text(200, required=False, min_length=0)
    head_member_id = ref_id(allow_none=True)


class HouseholdQuerySchema(Schema):
    community_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**62))
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**62))


class HouseholdListedSchema(HouseholdSchema):
    member_count = fields.Integer()


class HouseholdMemberAddSchema(Schema):
    member_id = ref_id(required=True)


class HouseholdMemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    volunteer_number = fields.String()
    is_head = flag()


class HouseholdDetailSchema(HouseholdSchema):
    members = fields.List(fields.Nested(HouseholdMemberSchema))


class HouseholdWalletLineSchema(Schema):
    entry_id = fields.Integer()
    transaction_id = fields.Integer()
    kind = fields.String()
    amount = fields.Integer(metadata={"description": "coins: positive in, negative out"})
    balance_after = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    memo = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True)
    member_id = fields.Integer(allow_none=True, metadata={"description": "who earned or spent it"})
    member_name = fields.String(allow_none=True)


class HouseholdWalletMemberSchema(Schema):
    member_id = fields.Integer(allow_none=True)
    member_name = fields.String(allow_none=True)
    earned = fields.Integer()
    spent = fields.Integer()


class HouseholdWalletSchema(Schema):
    coins = fields.Integer()
    by_member = fields.List(fields.Nested(HouseholdWalletMemberSchema))
    lines = fields.List(fields.Nested(HouseholdWalletLineSchema))
    next_cursor = fields.Integer(allow_none=True)


class MemberCreateSchema(Schema):
    community_id = ref_id(required=True)
    name = text(100)
    phone = MainlandMobile(allow_none=True)
    national_id = fields.String(load_only=True, allow_none=True, validate=validate.Length(max=18))
    household_id = ref_id(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    pin = fields.String(load_only=True, validate=PIN)


class MemberSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    household_id = fields.Integer(allow_none=True)
    name = fields.String()
    phone = fields.String(allow_none=True)
    # The mask (last four) is never sent beside the full birth date; whether a number is on file is.
    national_id_on_file = flag()
    birth_date = fields.Date(allow_none=True)
    volunteer_number = fields.String()
    card_code = fields.String()
    active = flag()
    created_at = fields.DateTime()


class MemberCreatedSchema(MemberSchema):
    initial_pin = fields.String(metadata={"description": "Shown once, when no PIN was given"})


class MemberQuerySchema(Schema):
    """Filters that may travel in a URL: no card code, no full phone (use ``POST /members/lookup``).
    Anything else in the query string is refused (422), so a card code sent there is not silently
    ignored."""

    # Query strings carry text: a strict integer field would refuse every "?community_id=3".
    community_id = query_id()
    volunteer_number = fields.String(validate=validate.Length(max=20))
    name = fields.String(validate=validate.Length(max=100))
    phone_tail = fields.String(
        validate=validate.Regexp(r"^\d{4}$", error="the last 4 digits"),
        metadata={"description": "the last 4 digits of the phone (desk staff and administrators)"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    after = fields.Integer(
        load_default=None, validate=validate.Range(min=0, max=2**62),
        metadata={"description": "the last id of the previous page (keyset pagination)"},
    )


class MemberLookupSchema(Schema):
    """A card code (as typed or scanned: case, spaces and dashes do not matter) or a full phone."""

    community_id = ref_id()
    card_code = CardCode()
    phone = fields.String(validate=PHONE)


class BalanceSchema(Schema):
    member_id = fields.Integer()
    coins = fields.Integer()
    hours_minutes = fields.Integer()
    lifetime_hours_minutes = fields.Integer()
    star = fields.Integer()
    household_coins = fields.Integer(allow_none=True)


class StatementQuerySchema(PageQuerySchema):
    unit = fields.String(validate=validate.OneOf(["COIN", "HOUR"]), load_default=None)


class StatementLineSchema(Schema):
    entry_id = fields.Integer()
    transaction_id = fields.Integer()
    unit = fields.String()
    amount = fields.Integer()
    balance_after = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    kind = fields.String()
    memo = fields.String()
    description = fields.String(metadata={"description": "What it was: activity, indicator, basket …"})
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    details = fields.Dict()
    reverses_id = fields.Integer(allow_none=True)


class StatementSchema(Schema):
    lines = fields.List(fields.Nested(StatementLineSchema))
    next_cursor = fields.Integer(allow_none=True)


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


# --- lifecycle (members.lifecycle) ----------------------------------------------------------------


class PinResetSchema(Schema):
    identity = fields.String(
        required=True, validate=validate.OneOf(["national_id", "document"]),
        metadata={"description": "national_id: the number typed from the ID card must match the one on file; "
                                 "document: name the document checked"},
    )
    national_id = fields.String(load_only=True, validate=validate.Length(max=18))
    document = fields.String(validate=validate.Length(max=100))


class PinResetResultSchema(Schema):
    member_id = fields.Integer()
    pin = fields.String(metadata={"description": "the new PIN, shown once; never stored in clear"})


class CardReplacementSchema(Schema):
    reason = text(200)


class CardReplacedSchema(Schema):
    member_id = fields.Integer()
    card_code = fields.String(metadata={"description": "the new code; the old one is refused from now on"})


class DeactivateSchema(Schema):
    reason = text(500)
    coins_to = fields.String(
        validate=validate.OneOf(["household", "community"]),
        metadata={"description": "default: the household if the resident has one, else the community"},
    )


class DeactivatedSchema(Schema):
    member_id = fields.Integer()
    active = flag()
    reason = fields.String()
    coins = fields.Integer(metadata={"description": "coins moved out of the resident's wallet"})
    hours_minutes = fields.Integer(metadata={"description": "time-bank minutes returned to the community"})
    coins_to = fields.String()
    hours_to = fields.String()
    transaction_id = fields.Integer(allow_none=True, metadata={"description": "the member_departure posting"})


class MemberUpdateSchema(Schema):
    """Corrections at the desk; the household is changed with ``/households/<id>/members``."""

    name = text(100, required=False)
    phone = MainlandMobile(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    national_id = fields.String(load_only=True, allow_none=True, validate=validate.Length(max=18))
