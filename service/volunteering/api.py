"""Activities, service records (log, approve, reject, reverse, batch), certificates and fraud alerts."""

import re

from flask import request
from flask.views import MethodView
from marshmallow import ValidationError

from ..auth.access import EVERYONE, STAFF, access, current_principal, public
from ..auth.models import Role
from ..blueprint import Blueprint
from ..errors import ApiErrorSchema, BadRequest
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent
from . import certificates, fraud, operations, sign_in_sheets
from .schemas import (
    ActivityCreateSchema,
    ActivityQuerySchema,
    ActivitySchema,
    ActivityUpdateSchema,
    BatchQuerySchema,
    BatchResultSchema,
    BatchSchema,
    CertificateCreateSchema,
    CertificateQuerySchema,
    CertificateSchema,
    FraudAlertDismissSchema,
    FraudAlertQuerySchema,
    FraudAlertSchema,
    PublicCertificateSchema,
    RecordReasonSchema,
    ServiceRecordCreateSchema,
    ServiceRecordQuerySchema,
    ServiceRecordSchema,
)

blp = Blueprint("volunteering", __name__, url_prefix="/api/v1", description="Volunteer hours (时间银行)")

RECORD_WRITERS = (Role.ADMIN, Role.STATION_STAFF)
MAX_SHEET_BYTES = 1_000_000
CERTIFICATE_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")  # as new_certificate_number makes them


@blp.route("/stations/<int:station_id>/activities")
class StationActivities(MethodView):
    @access(*STAFF)
    @blp.arguments(ActivityQuerySchema, location="query")
    @blp.response(200, ActivitySchema(many=True))
    def get(self, query, station_id):
        """The station's activity list."""
        return operations.list_activities(db.session, current_principal(), station_id, **query)

    @access(*RECORD_WRITERS)
    @blp.arguments(ActivityCreateSchema)
    @blp.response(201, ActivitySchema)
    def post(self, data, station_id):
        """Add an activity to the station's list (its staff or an administrator)."""
        principal = current_principal()
        return db.run(lambda s: operations.create_activity(s, principal, station_id=station_id, **data))


@blp.route("/activities/<int:activity_id>")
class ActivityById(MethodView):
    @access(*RECORD_WRITERS)
    @blp.arguments(ActivityUpdateSchema)
    @blp.response(200, ActivitySchema)
    def patch(self, changes, activity_id):
        """Rename or retire an activity; past records keep the name they were logged with."""
        principal = current_principal()
        return db.run(lambda s: operations.update_activity(s, principal, activity_id, changes))


@blp.route("/service-records")
class ServiceRecords(MethodView):
    @access(*EVERYONE)
    @blp.arguments(ServiceRecordQuerySchema, location="query")
    @blp.response(200, ServiceRecordSchema(many=True))
    def get(self, query):
        """Records in the caller's scope (a resident: their own), newest first."""
        return operations.list_service_records(db.session, current_principal(), **query)

    @access(*RECORD_WRITERS)
    @blp.arguments(ServiceRecordCreateSchema)
    @blp.response(201, ServiceRecordSchema)
    @blp.alt_response(409, schema=ApiErrorSchema, description="duplicate_service_record")
    @blp.alt_response(422, schema=ApiErrorSchema, description="end_not_after_start, record_too_long, "
                      "record_in_future, overlapping_record, unknown_volunteer, unknown_activity, …")
    def post(self, data):
        """Log service time as pending (staff of that station, or an administrator)."""
        principal = current_principal()
        return db.run(lambda s: operations.create_service_record(s, principal, **data))


@blp.route("/service-records/<int:record_id>")
class ServiceRecordById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, ServiceRecordSchema)
    def get(self, record_id):
        return operations.get_service_record(db.session, current_principal(), record_id)


@blp.route("/service-records/<int:record_id>/approve")
class ServiceRecordApproval(MethodView):
    @access(*RECORD_WRITERS)
    @blp.response(200, ServiceRecordSchema)
    @blp.alt_response(403, schema=ApiErrorSchema, description="four_eyes: the recorder cannot approve")
    @blp.alt_response(409, schema=ApiErrorSchema, description="not_pending, awaiting_admin_approval")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, record_id):
        """Approve: posts the minutes and coins at today's rate. A late entry (补录) or a day over the
        cap stays pending after station staff verify it, until an administrator approves."""
        principal = current_principal()

        def work(session):
            record = operations.approve_service_record(session, principal, record_id)
            return ServiceRecordSchema().dump(record), 200

        return idempotent({"record_id": record_id, "action": "approve"}, work)


@blp.route("/service-records/<int:record_id>/reject")
class ServiceRecordRejection(MethodView):
    @access(*RECORD_WRITERS)
    @blp.arguments(RecordReasonSchema)
    @blp.response(200, ServiceRecordSchema)
    def post(self, data, record_id):
        """Reject a pending record (reason required); nothing is posted."""
        principal = current_principal()
        return db.run(lambda s: operations.reject_service_record(s, principal, record_id, **data))


@blp.route("/service-records/<int:record_id>/reverse")
class ServiceRecordReversal(MethodView):
    @access(*RECORD_WRITERS)
    @blp.arguments(RecordReasonSchema)
    @blp.response(200, ServiceRecordSchema)
    @blp.alt_response(409, schema=ApiErrorSchema, description="not_approved, insufficient_balance")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data, record_id):
        """Reverse an approved record (reason required) with a ledger reversal of its posting."""
        principal = current_principal()

        def work(session):
            record = operations.reverse_service_record(session, principal, record_id, **data)
            return ServiceRecordSchema().dump(record), 200

        return idempotent({"record_id": record_id, "action": "reverse", **data}, work)


BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": BatchSchema},
        "text/csv": {
            "schema": {"type": "string"},
            "example": "volunteer,activity,started_at,ended_at\nV000100000012,环境整治,2026-11-01T08:00,2026-11-01T10:30\n",
        },
    },
}


@blp.route("/service-records/batch")
class ServiceRecordBatch(MethodView):
    @access(*RECORD_WRITERS)
    @blp.arguments(BatchQuerySchema, location="query")
    @blp.response(200, BatchResultSchema)
    @blp.alt_response(413, schema=ApiErrorSchema, description="batch_too_large (more than 500 rows or 1 MB)")
    @blp.doc(requestBody=BATCH_BODY)
    def post(self, query):
        """Log a station's sign-in sheet (JSON or CSV): one result per row. Bad rows never block good
        ones; a row already recorded reports ``exists``, so re-sending a sheet creates nothing twice."""
        if (request.content_length or 0) > MAX_SHEET_BYTES:
            raise sign_in_sheets.BatchTooLarge("a sheet is at most 1 MB", max_bytes=MAX_SHEET_BYTES)
        if request.mimetype == "text/csv":
            if query.get("station_id") is None:
                raise BadRequest("give station_id in the query string with a CSV sheet", code="station_required")
            try:
                text = request.get_data().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise BadRequest("the sheet must be UTF-8 text", code="invalid_encoding") from None
            station_id, rows = query["station_id"], sign_in_sheets.parse_sign_in_sheet(text)
        else:
            try:
                data = BatchSchema().load(request.get_json(silent=True) or {})
            except ValidationError as exc:
                from ..errors import Invalid

                raise Invalid("the request is not valid", code="validation_error", fields=exc.messages) from None
            station_id, rows = data["station_id"], data["rows"]
        principal = current_principal()
        return db.run(lambda s: sign_in_sheets.create_batch(s, principal, station_id, rows))

    post.accepts = ("application/json", "text/csv")


@blp.route("/certificates")
class Certificates(MethodView):
    @access(*EVERYONE)
    @blp.arguments(CertificateQuerySchema, location="query")
    @blp.response(200, CertificateSchema(many=True))
    def get(self, query):
        """A volunteer's certificates (a resident: their own)."""
        return certificates.list_certificates(db.session, current_principal(), query["member_id"])

    @access(Role.ADMIN, Role.STATION_STAFF, Role.RESIDENT)
    @blp.arguments(CertificateCreateSchema)
    @blp.response(201, CertificateSchema)
    def post(self, data):
        """Issue a service record certificate (志愿服务记录证明, labelled 平台记录): an immutable
        snapshot of the volunteer's approved hours. Certificates are free."""
        principal = current_principal()
        return db.run(lambda s: certificates.issue_certificate(s, principal, data["member_id"]))


@blp.route("/certificates/<certificate_number:number>")
class CertificateByNumber(MethodView):
    @public
    @blp.response(200, PublicCertificateSchema)
    @blp.doc(security=[])
    def get(self, number):
        """Anyone can check a certificate by its number; personal data is masked."""
        if not CERTIFICATE_NUMBER.fullmatch(number):
            raise BadRequest("not a certificate number", code="invalid_certificate_number")
        return certificates.certificate_by_number(db.session, number)


@blp.route("/fraud-alerts")
class FraudAlerts(MethodView):
    @access(Role.ADMIN, Role.SUPERVISOR)
    @blp.arguments(FraudAlertQuerySchema, location="query")
    @blp.response(200, FraudAlertSchema(many=True))
    def get(self, query):
        """Patterns for review (never automatic punishment), newest first, each with the records it is about."""
        return fraud.list_alerts(db.session, current_principal(), **query)


@blp.route("/fraud-alerts/<int:alert_id>")
class FraudAlertById(MethodView):
    @access(Role.ADMIN, Role.SUPERVISOR)
    @blp.response(200, FraudAlertSchema)
    def get(self, alert_id):
        """One alert with the records it is about."""
        return fraud.get_alert(db.session, current_principal(), alert_id)


@blp.route("/fraud-alerts/<int:alert_id>/dismiss")
class FraudAlertDismissal(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(FraudAlertDismissSchema)
    @blp.response(200, FraudAlertSchema)
    def post(self, data, alert_id):
        """Dismiss an alert after looking into it, with the reason (an administrator; audit-logged)."""
        principal = current_principal()
        return db.run(lambda s: fraud.dismiss_alert(s, principal, alert_id, **data))
