"""What the API and the office pages do with the background work: list job runs and
reconciliations, read one, queue a reconciliation. The who-may rules are here, once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.access import Principal
from ..auth.models import Role
from ..errors import Forbidden
from ..rows import get_row
from . import reconciliation, runs
from .models import JobRun, Reconciliation, RunStatus

UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


def _require_admin(principal: Principal) -> None:
    if principal.role != Role.ADMIN:
        raise Forbidden("job runs are read by administrators")


def list_job_runs(
    session: Session, principal: Principal, *, job: str | None = None, limit: int = 50, before: int | None = None
) -> list[JobRun]:
    """Runs of the background jobs, newest first (administrators); ``before`` = the last id seen."""
    _require_admin(principal)
    query = select(JobRun).order_by(JobRun.id.desc())
    if job:
        query = query.where(JobRun.job == job)
    if before:
        query = query.where(JobRun.id < before)
    return session.scalars(query.limit(limit)).all()


def get_job_run(session: Session, principal: Principal, run_id: int) -> JobRun:
    _require_admin(principal)
    return get_row(session, JobRun, run_id, what="job run")


def list_reconciliations(session: Session, *, limit: int = 50, before: int | None = None) -> list[Reconciliation]:
    """Reconciliations, newest first (status and counts, no discrepancies); ``before`` = the last id seen."""
    query = select(Reconciliation).order_by(Reconciliation.id.desc())
    if before:
        query = query.where(Reconciliation.id < before)
    return session.scalars(query.limit(limit)).all()


def get_reconciliation(session: Session, principal: Principal, reconciliation_id: int) -> Reconciliation:
    """One reconciliation with its discrepancies, which name accounts and balances of every
    community: a city-wide administrator reads them."""
    if not principal.is_city_admin:
        raise Forbidden("discrepancies cover the whole city's book: a city-wide administrator reads them")
    return get_row(session, Reconciliation, reconciliation_id, what="reconciliation")


def queue_reconciliation(session: Session, principal: Principal, mode: str) -> tuple[JobRun, bool]:
    """Queue a reconciliation of the whole book (a city-wide administrator); ``(run, created)``,
    the unfinished run of the same mode when there is one."""
    if not principal.is_city_admin:
        raise Forbidden("reconciliation covers the whole book: a city-wide administrator runs it")
    job = reconciliation.JOB if mode == reconciliation.INCREMENTAL else f"{reconciliation.JOB}_full"
    return runs.request_run(session, job, params={"mode": mode}, requested_by=principal.staff_id)


def followed_run(session: Session, run_id: int | None) -> JobRun | None:
    """The reconciliation run the office page follows: the one asked for, else any still unfinished."""
    run = session.get(JobRun, run_id) if run_id else None
    if run is not None and run.job.startswith(reconciliation.JOB):
        return run
    return session.scalars(
        select(JobRun)
        .where(JobRun.status.in_(UNFINISHED), JobRun.job.startswith(reconciliation.JOB))
        .order_by(JobRun.id.desc())
        .limit(1)
    ).first()


def overview(session: Session, principal: Principal, *, limit: int = 20) -> dict:
    """The office page: recent reconciliations; the latest one's discrepancies for whoever may read
    them (else ``None``); recent job runs for administrators (else ``None``)."""
    recent = list_reconciliations(session, limit=limit)
    discrepancies = None
    if recent and principal.is_city_admin:
        discrepancies = get_reconciliation(session, principal, recent[0].id).discrepancies
    job_runs = list_job_runs(session, principal, limit=30) if principal.role == Role.ADMIN else None
    return {
        "reconciliations": recent,
        "latest": recent[0] if recent else None,
        "discrepancies": discrepancies,
        "job_runs": job_runs,
    }
