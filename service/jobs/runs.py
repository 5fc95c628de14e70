"""Recording job runs so a job for a business date does its work once, and all of it or none.

A scheduled run claims ``(job, business_date)`` *inside the same database transaction as its work*
and marks itself succeeded before commit: a worker killed half-way leaves no row and no half-done
work, and the rerun starts clean. A concurrent second run waits on the unique key (or the row lock
of a failed attempt), then sees the success and does nothing. A failure is recorded afterwards in
its own transaction, so it is listed, and the next run for that date tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import ledger
from ledger.models import utcnow

from .models import JobRun, RunStatus

log = logging.getLogger(__name__)

SCHEDULE = "schedule"
MANUAL = "manual"
# How far back a nightly job looks for business dates it has not done (rq cron does not catch up).
CATCH_UP_DAYS = 31


def dedupe_key(job: str, business_date: dt.date) -> str:
    return f"{job}:{business_date.isoformat()}"


def pending_dates(session: Session, job: str, upto: dt.date, *, first: dt.date | None = None) -> list[dt.date]:
    """Business dates up to ``upto`` this job has not yet done, oldest first.

    After the last succeeded date (at most ``CATCH_UP_DAYS`` back); a job that never ran starts at
    ``first`` (default ``upto``), so a new deployment does not replay history.
    """
    last = session.scalar(
        select(JobRun.business_date)
        .where(JobRun.job == job, JobRun.trigger == SCHEDULE, JobRun.status == RunStatus.SUCCEEDED.value)
        .order_by(JobRun.business_date.desc())
        .limit(1)
    )
    if last is None:
        start = first or upto
    else:
        start = max(last + dt.timedelta(days=1), upto - dt.timedelta(days=CATCH_UP_DAYS))
    days = (upto - start).days
    return [start + dt.timedelta(days=i) for i in range(days + 1)] if days >= 0 else []


def already_done(session: Session, job: str, business_date: dt.date) -> bool:
    status = session.scalar(select(JobRun.status).where(JobRun.dedupe_key == dedupe_key(job, business_date)))
    return status == RunStatus.SUCCEEDED.value


def claim(
    session: Session, job: str, business_date: dt.date | None, *, trigger: str, started_at: dt.datetime
) -> JobRun | None:
    """Claim the run in the caller's transaction; ``None`` when this date already succeeded."""
    if trigger == SCHEDULE and business_date is not None:
        key = dedupe_key(job, business_date)
        existing = session.scalars(select(JobRun).where(JobRun.dedupe_key == key).with_for_update()).first()
        if existing is not None:
            if existing.status == RunStatus.SUCCEEDED.value:
                return None
            existing.status = RunStatus.RUNNING.value
            existing.attempts += 1
            existing.started_at, existing.finished_at, existing.error = started_at, None, None
            session.flush()
            return existing
    else:
        key = None
    run = JobRun(
        job=job,
        business_date=business_date,
        trigger=trigger,
        dedupe_key=key,
        status=RunStatus.RUNNING.value,
        attempts=1,
        started_at=started_at,
        counts={},
    )
    session.add(run)
    session.flush()  # a concurrent claimant of the same key waits here, then loses the unique race
    return run


def finish(run: JobRun, counts: dict, *, status: RunStatus = RunStatus.SUCCEEDED, error: str | None = None) -> None:
    run.finished_at = utcnow()
    run.duration_ms = int((run.finished_at - run.started_at).total_seconds() * 1000)
    run.counts = counts
    run.status = status.value
    run.error = error


def run_once(
    factory: sessionmaker[Session],
    job: str,
    business_date: dt.date | None,
    work: Callable[[Session, JobRun], dict],
    *,
    trigger: str = SCHEDULE,
) -> JobRun | None:
    """Run ``work(session, run) -> counts`` once for this date, in one transaction with its record.

    Returns the run, or ``None`` if the date was already done. Re-raises a failure after recording it.
    """
    started = utcnow()

    def attempt(session: Session) -> JobRun | None:
        run = claim(session, job, business_date, trigger=trigger, started_at=started)
        if run is None:
            return None
        counts = work(session, run)
        finish(run, counts or {})
        return run

    clock = time.perf_counter()
    try:
        run = ledger.run_in_transaction(factory, attempt)
    except Exception as exc:
        log.error("job %s for %s failed: %s", job, business_date, exc, exc_info=True)
        record_failure(factory, job, business_date, trigger=trigger, started_at=started, error=exc)
        raise
    if run is not None:
        log.info(
            "job %s for %s done in %.2fs: %s", job, business_date, time.perf_counter() - clock, run.counts
        )
    return run


def record_failure(
    factory: sessionmaker[Session],
    job: str,
    business_date: dt.date | None,
    *,
    trigger: str,
    started_at: dt.datetime,
    error: BaseException | str,
    counts: dict | None = None,
) -> JobRun | None:
    text = error if isinstance(error, str) else "".join(traceback.format_exception_only(error)).strip()

    def work(session: Session) -> JobRun | None:
        run = claim(session, job, business_date, trigger=trigger, started_at=started_at)
        if run is None:  # a concurrent run of the same date succeeded meanwhile
            return None
        finish(run, counts or {}, status=RunStatus.FAILED, error=text[:4000])
        return run

    try:
        return ledger.run_in_transaction(factory, work)
    except Exception:  # noqa: BLE001 - the database may be what failed; the log has the error
        log.exception("could not record the failure of job %s", job)
        return None


# --- runs requested from the office (an API call or a page), carried out by a worker ---------------

# A queued or running request older than this is taken as lost (its worker died) and asked again.
REQUEST_STALE = dt.timedelta(hours=8)


def request_run(session: Session, job: str, *, params: dict, requested_by: int | None) -> tuple[JobRun, bool]:
    """Queue a run of ``job`` asked for by a person; ``(run, created)``.

    While a run of the same job and parameters is still queued or running, asking again returns it
    instead of queueing a second one (a double click, two administrators at once).
    """
    unfinished = session.scalars(
        select(JobRun)
        .where(
            JobRun.job == job,
            JobRun.trigger == MANUAL,
            JobRun.status.in_((RunStatus.QUEUED.value, RunStatus.RUNNING.value)),
            JobRun.started_at > utcnow() - REQUEST_STALE,
        )
        .order_by(JobRun.id.desc())
    ).all()
    for run in unfinished:
        if (run.params or {}) == params:
            return run, False
    run = JobRun(
        job=job,
        trigger=MANUAL,
        status=RunStatus.QUEUED.value,
        attempts=0,
        started_at=utcnow(),
        counts={},
        params=params,
        progress={},
        requested_by=requested_by,
    )
    session.add(run)
    session.flush()
    return run, True


def start_requested(factory: sessionmaker[Session], run_id: int) -> JobRun | None:
    """Mark a queued run as running (its own short transaction, so the office sees it at once).

    ``None`` when the run is not queued any more: a job delivered twice does its work once.
    """

    def work(session: Session) -> JobRun | None:
        run = session.scalars(select(JobRun).where(JobRun.id == run_id).with_for_update()).first()
        if run is None or run.status != RunStatus.QUEUED.value:
            return None
        run.status = RunStatus.RUNNING.value
        run.attempts += 1
        run.started_at = utcnow()
        run.progress = {"step": None, "done": 0, "total": 0}
        session.flush()
        session.expunge(run)
        return run

    return ledger.run_in_transaction(factory, work)


def report_progress(factory: sessionmaker[Session], run_id: int, step: str, done: int, total: int) -> None:
    """Record how far a running job is (a short write of its own; a failure to record is only logged)."""

    def work(session: Session) -> None:
        run = session.get(JobRun, run_id)
        if run is not None and run.status == RunStatus.RUNNING.value:
            run.progress = {"step": step, "done": done, "total": total}

    try:
        ledger.run_in_transaction(factory, work)
    except Exception:  # noqa: BLE001 - progress is a courtesy; the job goes on
        log.warning("could not record the progress of job run %s", run_id, exc_info=True)


def fail_requested(factory: sessionmaker[Session], run_id: int, error: BaseException | str) -> None:
    """Record that a requested run failed, in its own transaction."""
    text = error if isinstance(error, str) else "".join(traceback.format_exception_only(error)).strip()

    def work(session: Session) -> None:
        run = session.get(JobRun, run_id)
        if run is not None and run.status in (RunStatus.QUEUED.value, RunStatus.RUNNING.value):
            finish(run, run.counts or {}, status=RunStatus.FAILED, error=text[:4000])

    try:
        ledger.run_in_transaction(factory, work)
    except Exception:  # noqa: BLE001 - the database may be what failed; the log has the error
        log.exception("could not record the failure of job run %s", run_id)
