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
Watermarks are the settled ids (``ledger.settled``): a transaction that drew a lower id and commits
late is never below a watermark, so some run always checks it. Every balance checkpoint of the
system accounts is checked against its entries.

Lateness to seal is judged at the snapshot's own time, not when the run ends. A transaction unsealed
for over a minute is a *warning* (``counts["warnings"]``, a log line and a metric) that leaves the run
passed; it fails the run only if it persists: it was already late at the previous run.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from prometheus_client import Gauge
from sqlalchemy import Engine, create_engine, event, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

import ledger
import ledger.settled
from ledger import chain
from ledger.models import Account, ChainLink, Entry, Transaction, utcnow
from ledger.verify import (
    Discrepancy,
    chain_valid,
    checkpoints_valid,
    no_negative_wallets,
    stored_balances,
    transactions_balanced,
    units_balanced,
)

from . import runs
from .models import JobRun, Reconciliation, ReconciliationDiscrepancy, RunStatus

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


@contextmanager
def snapshot_session(engine: Engine) -> Iterator[Session]:
    """A read-only session on one consistent snapshot that does not block writers."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with Session(bind=connection) as session:
                _take_snapshot(session)
                yield session
                session.rollback()
        return
    reader = create_engine(engine.url, poolclass=NullPool, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(reader, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(reader, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")  # deferred: a WAL read snapshot, no write lock

    try:
        with Session(bind=reader) as session:
            _take_snapshot(session)
            yield session
            session.rollback()
    finally:
        reader.dispose()


def _take_snapshot(session: Session) -> None:
    """Start the snapshot now (its first read) and remember when: lateness is judged at this time."""
    session.info["snapshot_at"] = utcnow()
    session.execute(select(func.count()).select_from(ChainLink).where(ChainLink.seq < 0))


@dataclass
class Watermarks:
    transaction_id: int = 0
    entry_id: int = 0
    chain_seq: int = 0
    chain_hash: str = chain.GENESIS_HASH


@dataclass
class Outcome:
    checks: dict[str, list[Discrepancy]]
    counts: dict
    since: Watermarks
    upto: Watermarks
    extra: dict = field(default_factory=dict)

    @property
    def discrepancies(self) -> list[Discrepancy]:
        return [d for found in self.checks.values() for d in found]


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


def _late_to_seal(session: Session, previous: Reconciliation | None) -> tuple[int, int]:
    """(unsealed for over a minute at this snapshot, of those already late at the previous run)."""
    as_of = session.info["snapshot_at"]
    late = chain.unsealed_count(session, older_than=as_of - chain.SEAL_PROMISE)
    if not late or previous is None or previous.started_at > as_of - chain.SEAL_PROMISE:
        return late, 0
    unsealed = (
        select(func.count())
        .select_from(Transaction)
        .outerjoin(ChainLink, ChainLink.transaction_id == Transaction.id)
        .where(
            ChainLink.seq.is_(None),
            Transaction.id <= previous.upto_transaction_id,
            Transaction.created_at < previous.started_at - chain.SEAL_PROMISE,
        )
    )
    return late, session.scalar(unsealed) or 0


def _as_discrepancy(item) -> Discrepancy:
    if isinstance(item, Discrepancy):
        return item
    if isinstance(item, dict):
        return Discrepancy(item.get("check", "stock"), str(item.get("subject")), item.get("expected"), item.get("actual"))
    return Discrepancy(
        getattr(item, "check", "stock"), str(getattr(item, "subject", item)),
        getattr(item, "expected", None), getattr(item, "actual", None),
    )


def _market_operations():
    try:
        return importlib.import_module("service.market.operations")
    except ModuleNotFoundError:
        return None


def stock_matches_movements(session: Session) -> list[Discrepancy] | None:
    """Stock = receipts − redemptions + refunds, through the market package; ``None`` if it is absent.

    Uses ``service.market.operations.stock_discrepancies`` when the market domain provides it, else
    compares each product's stored stock with the sum of its stock movements.
    """
    if not inspect(session.connection()).has_table("stock_movements"):
        return None  # the market domain is not installed in this database
    provided = getattr(_market_operations(), "stock_discrepancies", None)
    if provided is not None:
        return [_as_discrepancy(d) for d in provided(session)]
    try:
        models = importlib.import_module("service.market.models")
    except ModuleNotFoundError:
        return None
    product, movement = models.Product, models.StockMovement
    sums = (
        select(movement.product_id, func.sum(movement.quantity).label("total"))
        .group_by(movement.product_id)
        .subquery()
    )
    rows = session.execute(
        select(product.id, product.stock, func.coalesce(sums.c.total, 0)).outerjoin(
            sums, sums.c.product_id == product.id
        )
    ).all()
    return [
        Discrepancy("stock", f"product:{pid}", int(total), int(stock))
        for pid, stock, total in rows
        if int(stock) != int(total)
    ]


# The steps of a run as the office sees its progress, in the order ``verify`` takes them.
STEPS = (
    "stored_balances", "transactions_balanced", "units_balanced", "no_negative_wallets", "checkpoints",
    "chain_valid", "stock", "redemptions",
)

Progress = Callable[[str, int, int], None] | None


def verify(
    session: Session,
    *,
    since: Watermarks | None,
    settled: ledger.settled.SettledIds | None,
    previous: Reconciliation | None = None,
    progress: Progress = None,
) -> Outcome:
    """Run every check on ``session`` (a snapshot); ``since`` = None means a full check. The run
    moves the watermarks up to ``settled`` (``None``: they stay where they were).

    ``progress(step, done, total)`` is called before each step and once at the end.
    """
    full = since is None
    since = since or Watermarks()
    head = chain.head(session)
    upto = Watermarks(
        settled.transaction_id if settled else since.transaction_id,
        settled.entry_id if settled else since.entry_id,
        head.seq,
        head.chain_hash,
    )
    scope = {} if full else None
    checks: dict[str, list[Discrepancy]] = {}

    def step(name: str) -> None:
        if progress is not None:
            progress(name, STEPS.index(name), len(STEPS))

    for name, check, window in (
        ("stored_balances", stored_balances, {"since_entry_id": since.entry_id}),
        ("transactions_balanced", transactions_balanced,
         {"since_transaction_id": since.transaction_id, "since_entry_id": since.entry_id}),
        ("units_balanced", units_balanced, {"since_entry_id": since.entry_id}),
        ("no_negative_wallets", no_negative_wallets, {"since_entry_id": since.entry_id}),
        ("checkpoints", checkpoints_valid, {"since_entry_id": since.entry_id}),
    ):
        step(name)
        checks[name] = check(session, **(scope if scope is not None else window))
    step("chain_valid")
    checks["chain_valid"] = chain_valid(
        session, sealed_within=None, after_seq=since.chain_seq, prev_hash=since.chain_hash
    )
    late, persisting = _late_to_seal(session, previous)
    if persisting:
        checks["chain_valid"].append(Discrepancy("unsealed_transactions", "chain", 0, persisting))
    step("stock")
    stock = stock_matches_movements(session)
    if stock is not None:
        checks["stock"] = stock
        baskets = getattr(_market_operations(), "redemption_discrepancies", None)
        if baskets is not None:
            step("redemptions")
            checks["redemptions"] = [_as_discrepancy(d) for d in baskets(session)]
    counts = {
        "transactions": session.scalar(
            select(func.count()).select_from(Transaction).where(Transaction.id > since.transaction_id)
        ),
        "entries": session.scalar(select(func.count()).select_from(Entry).where(Entry.id > since.entry_id)),
        "chain_links": session.scalar(
            select(func.count()).select_from(ChainLink).where(ChainLink.seq > since.chain_seq)
        ),
        "accounts": session.scalar(select(func.count()).select_from(Account)),
    }
    if late:
        counts["warnings"] = {"late_to_seal": late}
    if settled is None:
        counts["watermarks_held"] = True  # a transaction stayed open: the next run starts from the same place
    if progress is not None:
        progress("done", len(STEPS), len(STEPS))
    return Outcome(checks, counts, since, upto)


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
