"""Job runs, reconciliations, disclosures, supervision flags, fraud alerts, stars and expiry warnings."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from sqlalchemy import select

from ..auth.access import EVERYONE, access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..community.operations import get_community
from ..errors import Forbidden, NotFound
from ..extensions import db
from ..health import readiness_check
from ..members.operations import get_member
from . import disclosure, expiry, fraud, reconciliation, runs, stars, supervision
from .models import JobRun, Reconciliation
from .schemas import (
    DisclosureListSchema,
    DisclosureSchema,
    ExpiringSchema,
    FlagCreateSchema,
    FlagQuerySchema,
    FlagResolveSchema,
    FlagSchema,
    FraudAlertQuerySchema,
    FraudAlertSchema,
    JobRunQuerySchema,
    JobRunSchema,
    ReconciliationDetailSchema,
    ReconciliationRunSchema,
    ReconciliationSchema,
    StarsSchema,
)

blp = Blueprint(
    "jobs", __name__, url_prefix="/api/v1",
    description="Background work: job runs, reconciliation, disclosure, supervision, fraud alerts",
)

REVIEWERS = (Role.ADMIN, Role.SUPERVISOR)


@readiness_check("reconciliation")
def _last_reconciliation(_app) -> tuple[bool, object]:
    try:
        return reconciliation.readiness(db.session)
    except Exception as exc:  # noqa: BLE001 - an unreadable status is not ready
        return False, type(exc).__name__


@blp.route("/job-runs")
class JobRuns(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(JobRunQuerySchema, location="query")
    @blp.response(200, JobRunSchema(many=True))
    def get(self, query):
        """Recent runs of the background jobs, newest first (administrators)."""
        statement = select(JobRun).order_by(JobRun.id.desc()).limit(query["limit"])
        if query["job"]:
            statement = statement.where(JobRun.job == query["job"])
        if query["before"]:
            statement = statement.where(JobRun.id < query["before"])
        return db.session.scalars(statement).all()


@blp.route("/reconciliations")
class Reconciliations(MethodView):
    @access(*REVIEWERS)
    @blp.arguments(JobRunQuerySchema, location="query")
    @blp.response(200, ReconciliationSchema(many=True))
    def get(self, query):
        """Reconciliations, newest first: status, duration, counts (administrators and supervisors)."""
        statement = select(Reconciliation).order_by(Reconciliation.id.desc()).limit(query["limit"])
        if query["before"]:
            statement = statement.where(Reconciliation.id < query["before"])
        return db.session.scalars(statement).all()

    @access(Role.ADMIN)
    @blp.arguments(ReconciliationRunSchema)
    @blp.response(201, ReconciliationDetailSchema)
    def post(self, data):
        """Run a reconciliation now (a city-wide administrator; ``full`` by default) and return it."""
        if not current_principal().is_city_admin:
            raise Forbidden("reconciliation covers the whole book: a city-wide administrator runs it")
        return reconciliation.run_reconciliation(db.factory, db.engine, mode=data["mode"], trigger=runs.MANUAL)


@blp.route("/reconciliations/<int:reconciliation_id>")
class ReconciliationById(MethodView):
    @access(*REVIEWERS)
    @blp.response(200, ReconciliationDetailSchema)
    def get(self, reconciliation_id):
        """One reconciliation with every discrepancy it found (city-wide administrators: the
        discrepancies name accounts and balances of every community)."""
        if not current_principal().is_city_admin:
            raise Forbidden("discrepancies cover the whole city's book: a city-wide administrator reads them")
        record = db.session.get(Reconciliation, reconciliation_id)
        if record is None:
            raise NotFound("reconciliation not found")
        return record


def _disclosure(community_id: int, month: str) -> dict:
    community = get_community(db.session, community_id)
    current_principal().require_community(community.id, what="community")
    return disclosure.get(db.session, community.id, month)


@blp.route("/disclosures/<int:community_id>")
class Disclosures(MethodView):
    @access(*EVERYONE)
    @blp.response(200, DisclosureListSchema(many=True))
    def get(self, community_id):
        """The months published for a community, newest first."""
        community = get_community(db.session, community_id)
        current_principal().require_community(community.id, what="community")
        return disclosure.months(db.session, community.id)


@blp.route("/disclosures/<int:community_id>/<month>")
class DisclosureJson(MethodView):
    @access(*EVERYONE)
    @blp.response(200, DisclosureSchema)
    def get(self, community_id, month):
        """A month's disclosure (积分公示, ``YYYY-MM``); also as ``.csv`` and printable ``.html``."""
        return _disclosure(community_id, month)


@blp.route("/disclosures/<int:community_id>/<month>.csv")
class DisclosureCsv(MethodView):
    @access(*EVERYONE)
    @blp.response(200, content_type="text/csv", description="The disclosure as CSV (UTF-8 with BOM)")
    def get(self, community_id, month):
        body = _disclosure(community_id, month)
        return Response(
            disclosure.as_csv(body),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="disclosure-{community_id}-{month}.csv"'},
        )


@blp.route("/disclosures/<int:community_id>/<month>.html")
class DisclosureSheet(MethodView):
    @access(*EVERYONE)
    @blp.response(200, content_type="text/html", description="A printable sheet for the notice board")
    def get(self, community_id, month):
        body = _disclosure(community_id, month)
        html = disclosure.as_html(body, body["generated_at"], current_app.config["TIMEZONE"])
        return Response(html, mimetype="text/html")


@blp.route("/flags")
class Flags(MethodView):
    @access(*REVIEWERS)
    @blp.arguments(FlagQuerySchema, location="query")
    @blp.response(200, FlagSchema(many=True))
    def get(self, query):
        """Supervisors' dispute flags of awards and how they were resolved."""
        return supervision.list_flags(db.session, current_principal(), **query)

    @access(Role.SUPERVISOR)
    @blp.arguments(FlagCreateSchema)
    @blp.response(201, FlagSchema)
    def post(self, data):
        """Flag an award as disputed, with a reason (a supervisor of its community)."""
        principal = current_principal()
        return db.run(lambda s: supervision.flag_award(s, principal, **data))


@blp.route("/flags/<int:flag_id>/resolve")
class FlagResolution(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(FlagResolveSchema)
    @blp.response(200, FlagSchema)
    def post(self, data, flag_id):
        """Resolve a flag: ``keep`` the award or ``reverse`` it (an administrator; kept on record)."""
        principal = current_principal()
        return db.run(lambda s: supervision.resolve_flag(s, principal, flag_id, **data))


@blp.route("/fraud-alerts")
class FraudAlerts(MethodView):
    @access(*REVIEWERS)
    @blp.arguments(FraudAlertQuerySchema, location="query")
    @blp.response(200, FraudAlertSchema(many=True))
    def get(self, query):
        """Patterns for review (never automatic punishment), newest first."""
        return fraud.list_alerts(db.session, current_principal(), **query)


def _member(member_id: int):
    member = get_member(db.session, member_id)
    current_principal().require_member(member.id, member.community_id)
    return member


@blp.route("/members/<int:member_id>/expiring")
class MemberExpiring(MethodView):
    @access(*EVERYONE)
    @blp.response(200, ExpiringSchema)
    def get(self, member_id):
        """Coins that expire within 30 days unless spent (annual clearing 年度清零), for statements."""
        today = runs.local_today(current_app.config["TIMEZONE"])
        return expiry.expiring_soon(db.session, _member(member_id), today)


@blp.route("/members/<int:member_id>/stars")
class MemberStars(MethodView):
    @access(*EVERYONE)
    @blp.response(200, StarsSchema)
    def get(self, member_id):
        """The volunteer's star as the nightly run set it, and every change with its date and reason."""
        return stars.member_stars(db.session, _member(member_id).id)
