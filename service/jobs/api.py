"""Job runs and reconciliations."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView
from sqlalchemy import select

from ..auth.access import access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..errors import Forbidden, NotFound
from ..extensions import db
from ..health import readiness_check
from . import reconciliation, runs
from .models import JobRun, Reconciliation
from .schemas import (
    JobRunQuerySchema,
    JobRunSchema,
    ReconciliationDetailSchema,
    ReconciliationRunSchema,
    ReconciliationSchema,
)

blp = Blueprint(
    "jobs", __name__, url_prefix="/api/v1",
    description="Background work: job runs and reconciliation",
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


def request_reconciliation(mode: str, principal) -> JobRun:
    """Queue a reconciliation run and hand it to a worker (shared by the API and the office page)."""
    from workers import dispatch  # workers build on the service, not the other way round

    job = reconciliation.JOB if mode == reconciliation.INCREMENTAL else f"{reconciliation.JOB}_full"
    run, created = db.run(lambda s: runs.request_run(s, job, params={"mode": mode}, requested_by=principal.staff_id))
    if created:
        dispatch.submit(current_app._get_current_object(), run.id)
    return run


@blp.route("/job-runs/<int:run_id>")
class JobRunById(MethodView):
    @access(Role.ADMIN)
    @blp.response(200, JobRunSchema)
    def get(self, run_id):
        """One job run: its status (queued, running, succeeded, failed), progress and counts."""
        run = db.session.get(JobRun, run_id)
        if run is None:
            raise NotFound("job run not found")
        return run


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
    @blp.response(202, JobRunSchema)
    def post(self, data):
        """Start a reconciliation (a city-wide administrator; ``full`` by default) and answer at once.

        The answer is the queued job run; poll ``GET /api/v1/job-runs/{id}`` (the ``Location``
        header) for its progress and, when it has finished, ``counts.reconciliation_id``. While a run
        of the same mode is still queued or running, asking again returns that run.
        """
        principal = current_principal()
        if not principal.is_city_admin:
            raise Forbidden("reconciliation covers the whole book: a city-wide administrator runs it")
        run = request_reconciliation(data["mode"], principal)
        return run, 202, {"Location": url_for("jobs.JobRunById", run_id=run.id)}


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
