"""The job functions RQ workers (and the in-process runner and the CLI) call.

Each takes only dates and options, opens its own database session and is safe to run twice: a
scheduled job for a business date that already succeeded does nothing new. With no date a nightly
job processes every business date it has not done yet, up to yesterday (rq cron never catches up
missed runs). Business dates are local dates (``GREENCOIN_TIMEZONE``, default Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import ledger
from ledger import merkle
from ledger.models import utcnow
from service import localtime
from service.bookkeeping import expiry
from service.conduct import disclosure
from service.conduct import operations as conduct
from service.disputes import operations as disputes
from service.jobs import reconciliation, runs
from service.members import stars
from service.reservations import operations as reservations
from service.volunteering import fraud

from .runtime import JobContext, job_context

log = logging.getLogger(__name__)

Progress = Callable[[int], None] | None


def _date(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _yesterday(ctx: JobContext) -> dt.date:
    return localtime.today(ctx.timezone) - dt.timedelta(days=1)


def _nightly(
    job: str,
    business_date: str | dt.date | None,
    work: Callable[[JobContext, object, object, dt.date], dict],
    *,
    every_date: bool = True,
) -> list[dict]:
    """Run ``work(ctx, session, run, date)`` once per pending business date (or the given one)."""
    with job_context() as ctx:
        given = _date(business_date)
        if given is not None:
            dates = [given]
        else:
            with ctx.factory() as session:
                dates = runs.pending_dates(session, job, _yesterday(ctx))
            if not every_date:
                dates = dates[-1:]  # state-based jobs: the latest date covers the ones missed
        results = []
        for day in dates:
            run = runs.run_once(ctx.factory, job, day, lambda s, r, d=day: work(ctx, s, r, d))
            results.append({"date": day.isoformat(), "done": run is not None, "counts": run.counts if run else {}})
        return results


def seal_chain() -> int:
    """Seal committed transactions into the hash chain (every few seconds)."""
    with job_context() as ctx:
        total = 0
        while True:
            sealed = ledger.run_in_transaction(ctx.factory, ledger.seal)
            total += sealed
            if sealed < 5000:
                return total


def checkpoint_system_accounts(business_date: str | None = None) -> list[dict]:
    """Balance checkpoints of untracked system accounts (issuance, sinks), nightly."""

    def work(ctx, session, run, day):
        return {"checkpoints": ledger.checkpoint_system_accounts(session)}

    return _nightly("system_checkpoints", business_date, work, every_date=False)


def reconcile(mode: str = reconciliation.INCREMENTAL, business_date: str | None = None, manual: bool = False) -> dict | None:
    """Reconcile the book: incremental nightly, full on demand (``mode="full"``)."""
    with job_context() as ctx:
        day = _date(business_date) or _yesterday(ctx)
        record = reconciliation.run_reconciliation(
            ctx.factory, ctx.engine, mode=mode, business_date=day,
            trigger=runs.MANUAL if manual else runs.SCHEDULE,
        )
        if record is None:
            return None
        return {"id": record.id, "status": record.status, "mode": record.mode,
                "duration_ms": record.duration_ms, "discrepancies": record.discrepancy_count}


def reconcile_full(business_date: str | None = None) -> dict | None:
    return reconcile(reconciliation.FULL, business_date)


def apply_star_tiers(business_date: str | None = None, progress: Progress = None) -> list[dict]:
    """Volunteer stars from lifetime hours, with the history of every change."""

    def work(ctx, session, run, day):
        thresholds = tuple(ctx.app.config["STAR_THRESHOLDS_HOURS"])
        return stars.apply_star_tiers(session, run, day, thresholds, progress)

    return _nightly(stars.JOB, business_date, work, every_date=False)


def credit_notice_period_awards(business_date: str | None = None) -> list[dict]:
    """Credit conduct awards whose public notice period (公示期) ended without a dispute."""

    def work(ctx, session, run, day):
        # The night after ``day`` is the morning of day + 1: awards due by then are credited.
        return {"credited": conduct.credit_due_awards(session, day + dt.timedelta(days=1))}

    return _nightly("notice_period", business_date, work)


def expire_coins(business_date: str | None = None) -> list[dict]:
    """Annual coin expiry (年度清零) of communities that configured it."""
    return _nightly(expiry.JOB, business_date, lambda ctx, s, run, day: expiry.expire_coins(s, day, ctx.timezone))


def publish_disclosures(business_date: str | None = None) -> list[dict]:
    """Monthly disclosure (积分公示): generated in the night to the 1st for the month before."""
    return _nightly(
        disclosure.JOB, business_date, lambda ctx, s, run, day: disclosure.publish_for_date(s, day, ctx.timezone, run)
    )


def scan_fraud(business_date: str | None = None) -> list[dict]:
    """Patterns for human review: frequent crediting, overlapping or implausible records."""
    return _nightly(fraud.JOB, business_date, lambda ctx, s, run, day: fraud.scan(s, day, ctx.timezone))


def escalate_disputes(business_date: str | None = None) -> list[dict]:
    """Disputes not answered by their deadline go to the supervisors (村务监督委员会)."""
    return _nightly(
        "dispute_deadlines", business_date,
        lambda ctx, s, run, day: {"escalated": disputes.escalate_overdue(s, utcnow())}, every_date=False,
    )


def apply_price_changes(business_date: str | None = None) -> list[dict]:
    """At midnight: catalogue prices changed from the new day on (baskets keep the prices they had)."""
    from service.market import shelf

    return _nightly(
        "price_changes", business_date,
        lambda ctx, s, run, day: {"applied": shelf.apply_due_price_changes(s, day + dt.timedelta(days=1))},
        every_date=False,
    )


def lapse_reservations(business_date: str | None = None) -> list[dict]:
    """Reservations not picked up by their deadline give their coins and stock back."""
    return _nightly(
        "reservation_lapse", business_date,
        lambda ctx, s, run, day: {"lapsed": reservations.lapse_due(s, utcnow())}, every_date=False,
    )


def build_merkle_blocks(business_date: str | None = None) -> list[dict]:
    """Close a Merkle block over the links sealed since the last one, so statement lines can be
    proven against the published head (before the disclosure prints it)."""

    def work(ctx, session, run, day):
        while ledger.seal(session):
            pass
        return {"blocks": merkle.build_blocks(session)}

    return _nightly("merkle_blocks", business_date, work, every_date=False)


def run_requested(run_id: int, app=None) -> dict | None:
    """Carry out a run asked for from the office (queued by the API or a page), reporting progress.

    Safe to deliver twice: only a run still ``queued`` is started. ``app`` is given when a thread
    of the web process runs it (embedded mode); an RQ worker builds its own.
    """
    with job_context(app) as ctx:
        run = runs.start_requested(ctx.factory, run_id)
        if run is None:
            return None
        if run.job not in REQUESTABLE:
            runs.fail_requested(ctx.factory, run.id, f"{run.job} cannot be requested")
            return None
        try:
            return REQUESTABLE[run.job](ctx, run)
        except Exception as exc:
            runs.fail_requested(ctx.factory, run.id, exc)  # a no-op when the job recorded it already
            raise


def _requested_reconciliation(ctx: JobContext, run) -> dict:
    def progress(step: str, done: int, total: int) -> None:
        runs.report_progress(ctx.factory, run.id, step, done, total)

    mode = (run.params or {}).get("mode", reconciliation.FULL)
    record = reconciliation.run_reconciliation(
        ctx.factory, ctx.engine, mode=mode, trigger=runs.MANUAL, run_id=run.id, progress=progress
    )
    return {"id": record.id, "status": record.status, "mode": record.mode,
            "duration_ms": record.duration_ms, "discrepancies": record.discrepancy_count}


# What the office can start (``runs.request_run`` names the job; ``run_requested`` carries it out).
REQUESTABLE = {
    reconciliation.JOB: _requested_reconciliation,
    f"{reconciliation.JOB}_full": _requested_reconciliation,
}
