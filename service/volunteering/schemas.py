from marshmallow import Schema, ValidationError, fields, pre_load, validate

from ..blueprint import find_nul
from ..schemas import PageQuerySchema, exactly_one_of, flag, query_id, ref_id, text
from .fraud import alert_links

STATUSES = ["pending", "approved", "rejected", "reversed"]
MINUTES = validate.Range(min=1, max=24 * 60)


class NoNulSchema(Schema):
    """Refuses text with a NUL character: PostgreSQL cannot store one (it was a 500, and in a
    batch it failed every row)."""

    @pre_load
    def refuse_nul(self, data, **_kwargs):
        # Batch rows are loaded one by one here, not by the request parser, so each row refuses its own.
        where = find_nul(data)
        if where:
            raise ValidationError({where: ["must not contain a NUL character"]})
        return data


class ActivityCreateSchema(NoNulSchema):
    name = text(100)
    name_en = text(100, required=False, min_length=0)
    description = text(1000, required=False, min_length=0)


class ActivityUpdateSchema(NoNulSchema):
    name = text(100, required=False)
    name_en = text(100, required=False, min_length=0)
    description = text(1000, required=False, min_length=0)
    active = flag()


class ActivitySchema(ActivityCreateSchema):
    id = fields.Integer(dump_only=True)
    station_id = fields.Integer(dump_only=True)
    community_id = fields.Integer(dump_only=True)
    active = flag(dump_only=True)


class ActivityQuerySchema(Schema):
    include_inactive = fields.Boolean(load_default=False)


class VolunteerRefSchema(NoNulSchema):
    """Name the volunteer one way: id, volunteer number (志愿者编号), card code, or ``volunteer``
    (a sign-in sheet's column holding either a volunteer number or a card code)."""

    volunteer_id = ref_id()
    volunteer_number = fields.String(validate=validate.Length(min=1, max=20))
    card_code = fields.String(validate=validate.Length(min=1, max=32))
    volunteer = fields.String(validate=validate.Length(min=1, max=32))

    one_volunteer = exactly_one_of(
        "volunteer_id", "volunteer_number", "card_code", "volunteer", message="name the volunteer exactly once",
        field_name="volunteer",
    )


class RecordFieldsSchema(VolunteerRefSchema):
    activity_id = ref_id()
    activity = text(100, required=False)
    started_at = fields.DateTime(required=True, metadata={"description": "ISO 8601; without a zone: local time"})
    ended_at = fields.DateTime(required=True)
    minutes = fields.Integer(
        strict=True, validate=MINUTES,
        metadata={"description": "Actual service time (travel excluded); defaults to end - start"},
    )
    evidence = text(1000, required=False, min_length=0)

    one_activity = exactly_one_of(
        "activity_id", "activity", message="name the activity once: activity_id or activity", field_name="activity"
    )


class ServiceRecordCreateSchema(RecordFieldsSchema):
    station_id = ref_id(required=True)


class BatchRowSchema(RecordFieldsSchema):
    """One row of a sign-in sheet (JSON object or CSV line). CSV columns: volunteer (number or card
    code), activity, started_at (or start), ended_at (or end), optional minutes and evidence."""

    minutes = fields.Integer(validate=MINUTES)  # CSV cells are text: "90" is accepted here


class BatchSchema(Schema):
    station_id = ref_id(required=True)
    rows = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


class BatchQuerySchema(Schema):
    station_id = query_id(metadata={"description": "Required with a text/csv body"})


class RowErrorSchema(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Dict()


class BatchRowResultSchema(Schema):
    row = fields.Integer()
    status = fields.String(metadata={"description": "created, exists (already recorded) or error"})
    service_record_id = fields.Integer()
    error = fields.Nested(RowErrorSchema)


class BatchResultSchema(Schema):
    station_id = fields.Integer()
    created = fields.Integer()
    exists = fields.Integer()
    error = fields.Integer()
    rows = fields.List(fields.Nested(BatchRowResultSchema))


class RecordReasonSchema(NoNulSchema):
    reason = text(500)


class ServiceRecordQuerySchema(PageQuerySchema):
    community_id = query_id()
    station_id = query_id()
    volunteer_id = query_id()
    status = fields.String(validate=validate.OneOf(STATUSES))
    late_entry = fields.Boolean()
    needs_admin = fields.Boolean()


class ServiceRecordSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    station_id = fields.Integer()
    volunteer_id = fields.Integer()
    activity_id = fields.Integer(allow_none=True)
    activity_name = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    minutes = fields.Integer()
    service_date = fields.Date()
    evidence = fields.String()
    status = fields.String()
    late_entry = flag(metadata={"description": "补录: entered long after the activity"})
    needs_admin = flag(metadata={"description": "over the daily cap: an administrator must approve"})
    review_reasons = fields.List(fields.String(), dump_only=True)
    recorded_by = fields.Integer()
    verified_by = fields.Integer(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    admin_approved_by = fields.Integer(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    coins = fields.Integer(allow_none=True)
    coins_per_hour = fields.Integer(allow_none=True)
    transaction_id = fields.Integer(allow_none=True)
    rejected_by = fields.Integer(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    reversed_by = fields.Integer(allow_none=True)
    reversed_at = fields.DateTime(allow_none=True)
    reversal_reason = fields.String(allow_none=True)
    reversal_transaction_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class CertificateCreateSchema(Schema):
    member_id = ref_id(required=True)


class CertificateQuerySchema(Schema):
    member_id = query_id(required=True)


class CertificateRecordSchema(Schema):
    date = fields.String()
    activity = fields.String()
    station = fields.String()
    minutes = fields.Integer()


class PublicCertificateSchema(Schema):
    """What anyone may see: masked name and volunteer number, never a national ID number."""

    label = fields.String()
    number = fields.String()
    volunteer_number = fields.String()
    name_masked = fields.String()
    issuer = fields.String()
    issued_on = fields.String()
    issued_at = fields.DateTime()
    total_minutes = fields.Integer()
    record_count = fields.Integer()
    first_service_date = fields.String(allow_none=True)
    last_service_date = fields.String(allow_none=True)
    records = fields.List(fields.Nested(CertificateRecordSchema))
    content_hash = fields.String()
    person_in_charge = fields.String(allow_none=True, metadata={"description": "the community's person in charge"})
    hash_ok = flag(metadata={"description": "the stored snapshot still matches its hash"})
    intact = flag(metadata={"description": "the hash matches and none of its records was reversed since"})
    reversed_records = fields.List(fields.Nested(CertificateRecordSchema),
                                   metadata={"description": "records on it reversed after it was issued"})
    reversed_minutes = fields.Integer()


class CertificateSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    member_id = fields.Integer()
    community_id = fields.Integer()
    issued_by = fields.Integer(allow_none=True)
    issued_at = fields.DateTime()
    snapshot = fields.Dict()
    content_hash = fields.String()


class FraudAlertQuerySchema(PageQuerySchema):
    community_id = query_id()
    kind = fields.String(validate=validate.Length(max=40), load_default=None)
    status = fields.String(validate=validate.OneOf(["open", "dismissed"]), load_default=None)


class FraudAlertDismissSchema(Schema):
    reason = text(1000)


class AlertLinkSchema(Schema):
    type = fields.String(metadata={"description": "service_record | transaction | member | household | staff"})
    id = fields.Integer()


class FraudAlertSchema(Schema):
    id = fields.Integer()
    community_id = fields.Integer()
    kind = fields.String(
        metadata={"description": "frequent_crediting | overlapping_records | implausible_record | two_stations_at_once"}
    )
    subject = fields.String()
    business_date = fields.Date()
    details = fields.Dict()
    status = fields.String(metadata={"description": "open | dismissed"})
    created_at = fields.DateTime()
    dismissed_by = fields.Integer(allow_none=True)
    dismissed_at = fields.DateTime(allow_none=True)
    dismissal_reason = fields.String(allow_none=True)
    links = fields.Method("_links", metadata={"description": "the records the alert is about"})

    def _links(self, alert):
        return AlertLinkSchema(many=True).dump(alert_links(alert))
