"""Job runs and reconciliations."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView

from ..auth.access import access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..extensions import db
from ..health import readiness_check
from . import operations, reconciliation
from .models import JobRun
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
        return operations.list_job_runs(db.session, current_principal(), **query)


def request_reconciliation(mode: str, principal) -> JobRun:
    """Queue a reconciliation run and hand it to a worker (shared by the API and the office page)."""
    from workers import dispatch  # workers build on the service, not the other way round

    run, created = db.run(lambda s: operations.queue_reconciliation(s, principal, mode))
    if created:
        dispatch.submit(current_app._get_current_object(), run.id)
    return run


@blp.route("/job-runs/<int:run_id>")
class JobRunById(MethodView):
    @access(Role.ADMIN)
    @blp.response(200, JobRunSchema)
    def get(self, run_id):
        """One job run: its status (queued, running, succeeded, failed), progress and counts."""
        return operations.get_job_run(db.session, current_principal(), run_id)


@blp.route("/reconciliations")
class Reconciliations(MethodView):
    @access(*REVIEWERS)
    @blp.arguments(JobRunQuerySchema, location="query")
    @blp.response(200, ReconciliationSchema(many=True))
    def get(self, query):
        """Reconciliations, newest first: status, duration, counts (administrators and supervisors)."""
        return operations.list_reconciliations(db.session, limit=query["limit"], before=query["before"])

    @access(Role.ADMIN)
    @blp.arguments(ReconciliationRunSchema)
    @blp.response(202, JobRunSchema)
    def post(self, data):
        """Start a reconciliation (a city-wide administrator; ``full`` by default) and answer at once.

        The answer is the queued job run; poll ``GET /api/v1/job-runs/{id}`` (the ``Location``
        header) for its progress and, when it has finished, ``counts.reconciliation_id``. While a run
        of the same mode is still queued or running, asking again returns that run.
        """
        run = request_reconciliation(data["mode"], current_principal())
        return run, 202, {"Location": url_for("jobs.JobRunById", run_id=run.id)}


@blp.route("/reconciliations/<int:reconciliation_id>")
class ReconciliationById(MethodView):
    @access(*REVIEWERS)
    @blp.response(200, ReconciliationDetailSchema)
    def get(self, reconciliation_id):
        """One reconciliation with every discrepancy it found (city-wide administrators: the
        discrepancies name accounts and balances of every community)."""
        return operations.get_reconciliation(db.session, current_principal(), reconciliation_id)
