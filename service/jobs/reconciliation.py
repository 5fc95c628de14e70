"""Nightly reconciliation (对账): every invariant of the book, checked against what the database holds.

Checks (SPEC §2 "Nightly work"): stored balances equal the sum of entries; every transaction sums
to zero per unit; each unit sums to zero; the hash chain verifies; stock equals receipts minus
redemptions plus refunds; no wallet is negative.

The checks run on a consistent read snapshot (REPEATABLE READ on PostgreSQL, a deferred read
transaction on SQLite WAL), so they never hold the SQLite write lock and never block writers. The
result is stored afterwards in one short transaction together with its job run: a worker killed
mid-run stores nothing and the rerun starts clean.

*Full* checks everything. *Incremental* checks what is new since the last passed run: transactions
and entries after its watermarks, the accounts they touched, the chain links after its sealed head;
after a failed run it checks everything, so a failed book stays failed until it is sound again.
An incremental run reads what the day wrote and the histories of the accounts it touched (tills
and sinks from their checkpoints), never a whole table: at city size a day is ~60,000 entries in a
book of ~22 million (tests/service/jobs/test_reconciliation_scope_pg.py counts the rows it reads).
Watermarks are the settled ids (``ledger.settled``): a transaction that drew a lower id and commits
late is never below a watermark, so some run always checks it. Every balance checkpoint of the
system accounts is checked against its entries.

Lateness to seal is judged at the snapshot's own time, not when the run ends. A transaction unsealed
for over a minute is a *warning* (``counts["warnings"]``, a log line and a metric) that leaves the run
passed; it fails the run only if it persists: it was already late at the previous run.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from prometheus_client import Gauge
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import ledger
import ledger.settled
from ledger.models import utcnow

from . import runs
from .models import JobRun, Reconciliation, ReconciliationDiscrepancy, RunStatus
from .verification import Progress, Watermarks, domain_checks, snapshot_session, verify

log = logging.getLogger(__name__)

JOB = "reconciliation"
FULL, INCREMENTAL = "full", "incremental"
PASSED, FAILED = "passed", "failed"
SETTLE_WAIT_SECONDS = 60.0
MAX_STORED_DISCREPANCIES = 100_000

RECONCILIATION_OK = Gauge(
    "greencoin_reconciliation_ok", "1 when the last reconciliation passed, 0 when it found discrepancies"
)
RECONCILIATION_DISCREPANCIES = Gauge(
    "greencoin_reconciliation_discrepancies", "Discrepancies found by the last reconciliation"
)
RECONCILIATION_SECONDS = Gauge(
    "greencoin_reconciliation_duration_seconds", "Duration of the last reconciliation", ["mode"]
)
RECONCILIATION_LATE_TO_SEAL = Gauge(
    "greencoin_reconciliation_late_to_seal", "Transactions unsealed for over a minute at the last reconciliation"
)
RECONCILIATION_OK.set(1)


def last_passed(session: Session) -> Reconciliation | None:
    return session.scalars(
        select(Reconciliation).where(Reconciliation.status == PASSED).order_by(Reconciliation.id.desc()).limit(1)
    ).first()


def latest(session: Session) -> Reconciliation | None:
    return session.scalars(select(Reconciliation).order_by(Reconciliation.id.desc()).limit(1)).first()


def _settled(engine: Engine) -> ledger.settled.SettledIds | None:
    """PostgreSQL: the settled ids, waited for outside the snapshot, which is taken afterwards."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        return ledger.settled.settled_ids(connection, timeout=SETTLE_WAIT_SECONDS)


def _text(value) -> str | None:
    return None if value is None else str(value)


def run_reconciliation(
    factory: sessionmaker[Session],
    engine: Engine,
    *,
    mode: str = INCREMENTAL,
    business_date: dt.date | None = None,
    trigger: str = runs.SCHEDULE,
    run_id: int | None = None,
    progress: Progress = None,
) -> Reconciliation | None:
    """Check the book and store the result; ``None`` if this scheduled date was already reconciled.

    ``run_id`` is a run requested from the office (queued, then marked running by the worker): the
    result is stored on it instead of a new run; ``progress`` reports each step as it starts.
    """
    job = JOB if mode == INCREMENTAL else f"{JOB}_full"
    if trigger == runs.SCHEDULE and business_date is not None:
        with factory() as session:
            if runs.already_done(session, job, business_date):
                return None
    domain_checks()  # imports the domains' models once per process: not part of the run's duration
    started = utcnow()
    clock = time.perf_counter()
    try:
        settled = _settled(engine) if engine.dialect.name == "postgresql" else None
        with snapshot_session(engine) as snapshot:
            if engine.dialect.name != "postgresql":  # writers are serialised: the snapshot's ids are settled
                settled = ledger.settled.settled_ids(snapshot.connection())
            previous = latest(snapshot)
            since = None
            # After a failure an incremental run checks everything again: what was found may sit in
            # an account with no new entries, and passing over it would turn the alarm off.
            if mode == INCREMENTAL and getattr(previous, "status", PASSED) == PASSED:
                passed = last_passed(snapshot)
                if passed is not None:
                    since = Watermarks(
                        passed.upto_transaction_id, passed.upto_entry_id, passed.upto_chain_seq, passed.upto_chain_hash
                    )
            outcome = verify(snapshot, since=since, settled=settled, previous=previous, progress=progress)
    except Exception as exc:
        log.error("reconciliation could not run: %s", exc, exc_info=True)
        if run_id is not None:
            runs.fail_requested(factory, run_id, exc)
        else:
            runs.record_failure(factory, job, business_date, trigger=trigger, started_at=started, error=exc)
        RECONCILIATION_OK.set(0)
        raise
    duration_ms = int((time.perf_counter() - clock) * 1000)
    found = outcome.discrepancies
    status = FAILED if found else PASSED
    effective_mode = mode if since is not None else FULL

    def store(session: Session) -> Reconciliation | None:
        if run_id is not None:
            run = session.scalars(select(JobRun).where(JobRun.id == run_id).with_for_update()).first()
        else:
            run = runs.claim(session, job, business_date, trigger=trigger, started_at=started)
        if run is None:
            return None
        record = Reconciliation(
            job_run_id=run.id,
            mode=effective_mode,
            trigger=trigger,
            business_date=business_date,
            status=status,
            started_at=started,
            finished_at=utcnow(),
            duration_ms=duration_ms,
            checks={name: len(items) for name, items in outcome.checks.items()},
            counts=outcome.counts,
            discrepancy_count=len(found),
            since_transaction_id=outcome.since.transaction_id,
            since_entry_id=outcome.since.entry_id,
            since_chain_seq=outcome.since.chain_seq,
            upto_transaction_id=outcome.upto.transaction_id,
            upto_entry_id=outcome.upto.entry_id,
            upto_chain_seq=outcome.upto.chain_seq,
            upto_chain_hash=outcome.upto.chain_hash,
        )
        session.add(record)
        session.flush()
        if found:
            session.execute(
                ReconciliationDiscrepancy.__table__.insert(),
                [
                    {
                        "reconciliation_id": record.id,
                        "check": d.check,
                        "subject": d.subject[:120],
                        "expected": _text(d.expected),
                        "actual": _text(d.actual),
                    }
                    for d in found[:MAX_STORED_DISCREPANCIES]
                ],
            )
        session.refresh(record, ["discrepancies"])  # returned detached, with what it found
        counts = {**outcome.counts, "discrepancies": len(found), "reconciliation_id": record.id, "mode": effective_mode}
        if found:
            runs.finish(run, counts, status=RunStatus.FAILED, error=f"reconciliation found {len(found)} discrepancies")
        else:
            runs.finish(run, counts)
        return record

    record = ledger.run_in_transaction(factory, store)
    if record is None:
        return None
    RECONCILIATION_OK.set(1 if status == PASSED else 0)
    RECONCILIATION_DISCREPANCIES.set(len(found))
    RECONCILIATION_SECONDS.labels(effective_mode).set(duration_ms / 1000)
    late = outcome.counts.get("warnings", {}).get("late_to_seal", 0)
    RECONCILIATION_LATE_TO_SEAL.set(late)
    if late:
        log.warning("reconciliation %s: %d transactions were late to seal (over a minute)", record.id, late)
    if found:
        log.error(
            "RECONCILIATION FAILED (%s, id %s): %d discrepancies, e.g. %s",
            effective_mode, record.id, len(found), [d.as_dict() for d in found[:5]],
        )
    else:
        log.info("reconciliation %s passed in %d ms: %s", effective_mode, duration_ms, outcome.counts)
    return record


def readiness(session: Session) -> tuple[bool, object]:
    """For /readyz: not ready after a reconciliation that found discrepancies."""
    record = latest(session)
    if record is None:
        return True, "no reconciliation yet"
    RECONCILIATION_OK.set(1 if record.status == PASSED else 0)
    RECONCILIATION_DISCREPANCIES.set(record.discrepancy_count)
    detail = {
        "id": record.id,
        "status": record.status,
        "mode": record.mode,
        "finished_at": record.finished_at.isoformat(),
        "discrepancies": record.discrepancy_count,
    }
    return record.status == PASSED, detail
