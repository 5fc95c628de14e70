"""The oversight lists' query and rows."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..schemas import PageQuerySchema, flag, query_id

MONTH = r"^2[0-9]{3}-(?:0[1-9]|1[0-2])$"  # as the disclosure's month


class OversightQuerySchema(PageQuerySchema):
    community_id = query_id()
    month = fields.String(validate=validate.Regexp(MONTH, error="a month is written YYYY-MM"),
                          metadata={"description": "YYYY-MM: the service or award date's month (local)"})
    member_id = query_id()
    person = fields.String(validate=validate.Length(min=1, max=100),
                           metadata={"description": "a volunteer number or a resident's full name"})


class StaffRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class PersonRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    volunteer_number = fields.String(allow_none=True)


class FlagRefSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "open, kept or reversed"})
    reason = fields.String()
    flagged_at = fields.DateTime()


class _OverseenSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    date = fields.Date(metadata={"description": "the local date of the service or the award"})
    status = fields.String()
    person = fields.Nested(PersonRefSchema, allow_none=True)
    evidence = fields.String()
    recorded_by = fields.Nested(StaffRefSchema, allow_none=True)
    recorded_at = fields.DateTime()
    reversed_by = fields.Nested(StaffRefSchema, allow_none=True)
    reversal_reason = fields.String(allow_none=True)
    flags = fields.List(fields.Nested(FlagRefSchema))


class OverseenRecordSchema(_OverseenSchema):
    activity = fields.String()
    minutes = fields.Integer()
    coins = fields.Integer(allow_none=True)
    late_entry = flag(metadata={"description": "补录: logged after the community's late-entry days"})
    verified_by = fields.Nested(StaffRefSchema, allow_none=True)
    approved_by = fields.Nested(StaffRefSchema, allow_none=True,
                                metadata={"description": "the administrator's approval, else the verifier's"})
    approved_at = fields.DateTime(allow_none=True)
    rejected_by = fields.Nested(StaffRefSchema, allow_none=True)
    reject_reason = fields.String(allow_none=True)


class HouseholdRefSchema(Schema):
    id = fields.Integer()
    name = fields.String(allow_none=True)


class OverseenAwardSchema(_OverseenSchema):
    household = fields.Nested(HouseholdRefSchema, allow_none=True)
    indicator = fields.String()
    indicator_code = fields.String()
    category = fields.String()
    points = fields.Integer(metadata={"description": "as applied: positive bonus, negative deduction"})
    amount_posted = fields.Integer(allow_none=True, metadata={"description": "signed coins that moved"})
    shortfall = fields.Integer()
    note = fields.String()
    credit_due_on = fields.Date(metadata={"description": "the end of the notice period (公示期)"})
    credited_at = fields.DateTime(allow_none=True)
