"""What a reconciliation checks, on one consistent read snapshot (see ``reconciliation`` for the run).

``verify`` takes every invariant of the book in turn (``steps()``), over everything (full) or what is
new since the last passed run's watermarks (incremental), and reports its progress step by step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine, event, func, select, union
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import ledger
import ledger.settled
from ledger import chain, verify_sql
from ledger.models import Account, ChainLink, Entry, Transaction, utcnow
from ledger.verify import (
    Discrepancy,
    chain_valid,
    checkpoints_valid,
    new_transactions,
    no_negative_wallets,
    stored_balances,
    transactions_balanced,
    transactions_balanced_among,
    units_balanced,
)

from .. import domains
from .models import Reconciliation

log = logging.getLogger(__name__)


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


def _late_to_seal(session: Session, previous: Reconciliation | None, late: int) -> int:
    """Of the ``late`` transactions unsealed for over a minute at this snapshot, those already late at
    the previous run."""
    as_of = session.info["snapshot_at"]
    if not late or previous is None or previous.started_at > as_of - chain.SEAL_PROMISE:
        return 0
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
    return session.scalar(unsealed) or 0


# The ledger's own checks, in the order ``verify`` takes them; the domains' checks follow.
LEDGER_STEPS = (
    "stored_balances", "transactions_balanced", "units_balanced", "no_negative_wallets", "checkpoints",
    "chain_valid",
)

# ``check(session, transactions=None)``: everything, or (an incremental run) what the ledger
# transactions ``transactions`` (ids, ascending) wrote; a check may always check everything.
DomainCheck = Callable[..., list[Discrepancy]]


def domain_checks() -> dict[str, DomainCheck]:
    """What the domains add to the book's checks: ``RECONCILIATION_CHECKS`` (name -> check) of each
    domain's ``checks.py``, found as its models and API are (``service.domains``). Jobs are the
    mechanism and import no domain; today the market adds stock and baskets."""
    found: dict[str, DomainCheck] = {}
    domains.import_models()  # every mapper's relationships resolve, also outside the app (workers, benches)
    for module in domains.domain_modules("checks"):
        found.update(module.RECONCILIATION_CHECKS)
    return found


def steps() -> tuple[str, ...]:
    """Every step of a run as the office sees its progress, in order: the domains' checks first
    (on PostgreSQL they run while the ledger's passes run beside them, see ``verify``)."""
    return tuple(domain_checks()) + LEDGER_STEPS

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

    A full check on PostgreSQL takes the ledger's invariants in three passes run by worker
    connections on the same snapshot (``ledger.verify_sql``) while the domains' checks run on
    ``session``; otherwise (SQLite, incremental runs) the ledger's checks run one after another.
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
    checks: dict[str, list[Discrepancy]] = {}
    extra = domain_checks()
    names = tuple(extra) + LEDGER_STEPS
    late_before = session.info["snapshot_at"] - chain.SEAL_PROMISE

    def step(name: str) -> None:
        if progress is not None:
            progress(name, names.index(name), len(names))

    # An incremental run's new transactions, read once: the domains' checks and the ledger's share them.
    transactions = None if full else new_transactions(session, since.transaction_id, since.entry_id)

    def run_domain_checks() -> None:
        for name, check in extra.items():
            step(name)
            checks[name] = check(session, transactions=transactions)

    passes = None
    if full and verify_sql.available(session):
        try:
            with verify_sql.full_check(session, late_before=late_before) as finish:
                run_domain_checks()
                step(LEDGER_STEPS[0])
                passes = finish()
        except DBAPIError as exc:  # a row the passes cannot read: the checks one by one will
            log.warning("reconciliation's full passes failed, checking one check at a time: %s", exc)
    else:
        run_domain_checks()
    if passes is not None:
        for name in LEDGER_STEPS:
            step(name)
            checks[name] = passes.checks[name]
        counts, late = dict(passes.counts), passes.late_to_seal
    else:
        checks.update(_ledger_checks(session, since, transactions, step))
        counts = _counts(session, since, full)
        late = _unsealed(session, since, None if full else previous, late_before)
    persisting = _late_to_seal(session, previous, late)
    if persisting:
        checks["chain_valid"].append(Discrepancy("unsealed_transactions", "chain", 0, persisting))
    checks = {name: checks[name] for name in names}
    if late:
        counts["warnings"] = {"late_to_seal": late}
    if settled is None:
        counts["watermarks_held"] = True  # a transaction stayed open: the next run starts from the same place
    if progress is not None:
        progress("done", len(names), len(names))
    return Outcome(checks, counts, since, upto)


def _ledger_checks(
    session: Session, since: Watermarks, transactions: list[int] | None, step
) -> dict[str, list[Discrepancy]]:
    """The ledger's checks one after another, over everything (``transactions`` None) or what is new
    since ``since`` (``transactions``: the new transactions, as ``new_transactions`` reads them)."""
    full = transactions is None
    scope = {} if full else None
    checks = {}
    for name, check, window in (
        ("stored_balances", stored_balances, {"since_entry_id": since.entry_id}),
        ("transactions_balanced", transactions_balanced if full else transactions_balanced_among,
         {"transaction_ids": transactions}),
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
    return checks


def _unsealed(session: Session, since: Watermarks, previous: Reconciliation | None, late_before) -> int:
    """Transactions unsealed and created before ``late_before``. After a passed run that found none
    late (``previous``, an incremental run), only two kinds can be: one created less than a minute
    before that run began (not yet late then), and one that run could not see, which has entries
    after its watermark (entry ids are settled). So the day's transactions are read, not the book's."""
    if previous is None or previous.counts.get("warnings"):
        return chain.unsealed_count(session, older_than=late_before)
    candidates = session.scalars(
        union(select(Transaction.id).where(Transaction.created_at >= previous.started_at - chain.SEAL_PROMISE),
              select(Entry.transaction_id).where(Entry.id > since.entry_id))
    ).all()
    return chain.unsealed_count(session, older_than=late_before, among=sorted(candidates))


def _counts(session: Session, since: Watermarks, full: bool) -> dict:
    """What the run covered; an incremental run counts the accounts it touched, not the table."""
    accounts = select(func.count()).select_from(Account) if full else select(
        func.count(Entry.account_id.distinct())).where(Entry.id > since.entry_id)
    return {
        "transactions": session.scalar(
            select(func.count()).select_from(Transaction).where(Transaction.id > since.transaction_id)
        ),
        "entries": session.scalar(select(func.count()).select_from(Entry).where(Entry.id > since.entry_id)),
        "chain_links": session.scalar(
            select(func.count()).select_from(ChainLink).where(ChainLink.seq > since.chain_seq)
        ),
        "accounts" if full else "accounts_touched": session.scalar(accounts),
    }
