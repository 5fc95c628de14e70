"""The full check of the book on PostgreSQL: three passes over the tables, side by side on one snapshot.

The checks of ``ledger.verify`` one by one read the entries five times and the chain in chunks that
each scanned every transaction again (5-7 x the SQL floor). Here every invariant comes out of three
passes, each a single streaming scan that returns only what it finds suspect:

- the *transaction pass* (per range of transaction ids) merges each transaction with its entries
  (by ``transaction_id``, in order) and its chain link: the recomputed content hash against the
  stored one and the link hash; per unit sums and the entry count of each transaction;
  the transactions left unsealed past the caller's time.
- the *account pass* groups the entries by account and unit once: stored balances and versions,
  negative accounts, each unit's sum, entries in a unit not their account's.
- the *link pass* reads the chain in order: each sequence number and stored previous hash.
- the *Merkle pass* recomputes the blocks over the chain (``verify.merkle_blocks_valid``), in Python,
  streaming the links' content hashes in keyset chunks; what it finds is reported under the chain.

The passes run in worker connections that import the caller's snapshot (``pg_export_snapshot``),
so they see exactly what the caller sees, ``WORKERS`` at a time; the ranges of the transaction pass
are independent, so more cores take more ranges. Whatever a pass finds suspect is rechecked with the
checks of ``ledger.verify`` restricted to it, which build every discrepancy as they always did: the
passes decide only what is looked at again, never what is reported. Rows the passes cannot account
for (entries or links whose transaction row is gone) are found by comparing their counts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session

from . import chain, chain_sql
from .models import Unit
from .verify import (
    Discrepancy,
    checkpoints_valid,
    merkle_blocks_valid,
    recheck_links,
    transactions_balanced_among,
)

# Worker connections at a time; the floor the run is compared with runs in parallel as well.
WORKERS = min(max(os.cpu_count() or 2, 2), 4)
# Ranges of transaction ids per worker: the shorter the ranges, the less time one worker waits
# for the other at the end (~0.2 s of 7 at 3.2 M entries with 6); each costs a query's start.
RANGES_PER_WORKER = 6
_BIGINT = 2**63 - 1

_UNITS = tuple(unit.value for unit in Unit)
# A unit's JSON text: the known units are plain ASCII words, their quoted text is exactly to_json's.
_UNIT_JSON = "CASE unit " + " ".join(f"WHEN '{u}' THEN '\"{u}\"'" for u in _UNITS) + " ELSE to_json(unit)::text END"
_UNIT_SUMS = ", ".join(f"sum(amount) FILTER (WHERE unit = '{u}') AS sum_{u.lower()}" for u in _UNITS)
_UNIT_LIST = ", ".join(f"'{u}'" for u in _UNITS)
_UNBALANCED = " OR ".join(
    ["n IS NULL", "n < 2", "other_units > 0", *(f"sum_{u.lower()} <> 0" for u in _UNITS)]
)

# One range of transaction ids: (lo, hi]. Entries come from the index on transaction_id alone, in
# its order: each transaction's lines sorted as the canonical text sorts them (migration 0028). A
# content hash that differs from the stored one is recomputed with details re-serialised (rows
# written before details were stored as canonical text); a link or transaction still suspect after
# that is rechecked in Python.
_TRANSACTION_PASS = text(f"""
SELECT count(*) AS transactions, count(seq) AS linked, coalesce(sum(n), 0) AS entries,
       count(*) FILTER (WHERE seq IS NULL AND created_at < :late_before) AS late,
       array_agg(tx_id ORDER BY tx_id) FILTER (WHERE {_UNBALANCED}) AS unbalanced,
       array_agg(seq ORDER BY seq) FILTER (WHERE seq IS NOT NULL AND (content IS DISTINCT FROM stored_content
         OR {chain_sql.hex_sha256("prev_hash || content", checking=True)} IS DISTINCT FROM chain_hash)) AS suspects
FROM (
  SELECT f.*, CASE WHEN f.fast = f.stored_content THEN f.fast ELSE (
           SELECT {chain_sql.RESERIALISED_CONTENT_HASH}
           FROM ledger_transactions t, (SELECT f.lines) AS x WHERE t.id = f.tx_id) END AS content
  FROM (
    SELECT t.id AS tx_id, t.created_at, t.content_hash AS stored_content, x.*, l.seq, l.prev_hash, l.chain_hash,
           {chain_sql.CHECKED_CONTENT_HASH} AS fast
    FROM ledger_transactions t
    LEFT JOIN (
      SELECT transaction_id, count(*) AS n, {_UNIT_SUMS},
             count(*) FILTER (WHERE unit NOT IN ({_UNIT_LIST})) AS other_units,
             string_agg('[' || account_id::text || ',' || {_UNIT_JSON} || ',' || amount::text || ']', ',') AS lines
      FROM (SELECT e.transaction_id, e.account_id, e.unit, e.amount FROM ledger_entries e
            WHERE e.transaction_id > :lo AND e.transaction_id <= :hi
            ORDER BY e.transaction_id, {chain_sql.INDEX_LINE_ORDER}) AS sorted
      GROUP BY transaction_id
    ) x ON x.transaction_id = t.id
    LEFT JOIN ledger_chain_links l ON l.transaction_id = t.id AND l.transaction_id > :lo AND l.transaction_id <= :hi
    WHERE t.id > :lo AND t.id <= :hi
    OFFSET 0
  ) f
  OFFSET 0
) r
""")

# Entries grouped by account from the (account_id, id) index alone (it carries amount and unit,
# migration 0027), in its order: no hash table, no heap. Each unit's sum comes from the accounts'
# totals by the account's unit; an account with an entry in another unit (or no account row) has
# its entries summed one by one, and is reported.
_UNIT_COUNTS = ", ".join(f"count(*) FILTER (WHERE unit = '{u}') AS n_{u.lower()}" for u in _UNITS)
_OWN_UNIT_COUNT = "CASE a.unit " + " ".join(f"WHEN '{u}' THEN p.n_{u.lower()}" for u in _UNITS) + " ELSE 0 END"
_ACCOUNT_PASS = text(f"""
WITH joined AS MATERIALIZED (
  SELECT a.id, p.account_id, a.unit, a.balance, a.version, a.track_balance, a.allow_negative, p.total, p.n,
         p.n IS NULL OR (a.id IS NOT NULL AND {_OWN_UNIT_COUNT} = p.n) AS own_unit
  FROM (SELECT account_id, sum(amount) AS total, count(*) AS n, {_UNIT_COUNTS}
        FROM ledger_entries GROUP BY account_id) AS p
  FULL JOIN ledger_accounts a ON a.id = p.account_id
)
SELECT 'account' AS kind, id, NULL AS unit, balance, version, total, n, track_balance, allow_negative
FROM joined
WHERE id IS NOT NULL AND ((track_balance AND (balance <> coalesce(total, 0) OR version <> coalesce(n, 0)))
                          OR (NOT allow_negative AND (balance < 0 OR total < 0)))
UNION ALL
SELECT 'unit', NULL, unit, NULL, NULL, sum(total), NULL, NULL, NULL FROM (
  SELECT unit, total FROM joined WHERE own_unit AND total IS NOT NULL
  UNION ALL
  SELECT e.unit, e.amount FROM ledger_entries e WHERE e.account_id IN (SELECT account_id FROM joined WHERE NOT own_unit)
) AS units GROUP BY unit HAVING sum(total) <> 0
UNION ALL
SELECT 'unit_of_account', account_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM joined WHERE NOT own_unit
UNION ALL
SELECT 'count', count(id), NULL, NULL, NULL, NULL, sum(n), NULL, NULL FROM joined
""")

_LINK_PASS = text("""
SELECT count(*) AS links,
       array_agg(seq ORDER BY seq) FILTER (WHERE seq <> expected_seq OR prev_hash <> expected_prev) AS suspects
FROM (
  SELECT seq, prev_hash, lag(chain_hash, 1, CAST(:genesis AS varchar)) OVER w AS expected_prev,
         lag(seq, 1, CAST(0 AS bigint)) OVER w + 1 AS expected_seq
  FROM ledger_chain_links WINDOW w AS (ORDER BY seq)
) s
""")

_LINKS_WITHOUT_TRANSACTION = text(
    "SELECT l.seq FROM ledger_chain_links l"
    " WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = l.transaction_id)"
)
_ENTRIES_WITHOUT_TRANSACTION = text(
    "SELECT DISTINCT e.transaction_id FROM ledger_entries e"
    " WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = e.transaction_id)"
)
_ENTRIES_IN_ANOTHER_UNIT = text(
    "SELECT e.id, e.unit, a.unit FROM ledger_entries e LEFT JOIN ledger_accounts a ON a.id = e.account_id"
    " WHERE e.account_id IN :accounts AND (a.id IS NULL OR e.unit <> a.unit) ORDER BY e.id"
).bindparams(bindparam("accounts", expanding=True))
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")


@dataclass
class FullCheck:
    """What the passes found: the discrepancies under the names of ``ledger.verify``'s checks,
    the counts of the book, and how many transactions were unsealed before ``late_before``."""

    checks: dict[str, list[Discrepancy]]
    counts: dict[str, int]
    late_to_seal: int


def available(session: Session) -> bool:
    return chain_sql.available(session)


@contextmanager
def _on_snapshot(session: Session, snapshot_id: str) -> Iterator[Connection]:
    """A connection of the session's engine reading the exported snapshot ``snapshot_id``."""
    with session.get_bind().engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with connection.begin():
            connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot_id}'")
            # Big cheap queries the planner overestimates: JIT would compile and optimise for
            # seconds. The three big passes compile without optimising (``_compiled_expressions``).
            connection.exec_driver_sql("SET LOCAL jit = off")
            yield connection


def _compiled_expressions(connection: Connection) -> None:
    """JIT-compile the pass's expressions and tuple deforming, without inlining or optimising
    (those compile for seconds, as the planner overestimates these big cheap queries). Its rows
    are millions: compiled, the transaction pass (canonical texts built and hashed per row) costs
    ~7 % less CPU, the account and link passes ~5 %. Only for these three single statements; the
    Merkle pass's many small reads would pay a compilation each."""
    for setting in ("jit = on", "jit_above_cost = 0", "jit_inline_above_cost = -1", "jit_optimize_above_cost = -1"):
        connection.exec_driver_sql(f"SET LOCAL {setting}")


def _transaction_pass(connection: Connection, lo: int, hi: int, late_before) -> dict:
    # Merge the three sorted streams; without statistics (a book just loaded) the planner would
    # hash every transaction instead, spilling to disk.
    connection.exec_driver_sql("SET LOCAL enable_hashjoin = off")
    _compiled_expressions(connection)
    row = connection.execute(_TRANSACTION_PASS, {"lo": lo, "hi": hi, "late_before": late_before}).one()
    return row._asdict()


def _account_pass(connection: Connection) -> list:
    # The index in its order, one process: the planner would rather hash a parallel scan of the
    # table, which costs more CPU (each worker groups almost every account) where CPU is what the
    # run is short of.
    connection.exec_driver_sql("SET LOCAL enable_hashagg = off")
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    _compiled_expressions(connection)
    return connection.execute(_ACCOUNT_PASS).all()


def _link_pass(connection: Connection) -> dict:
    _compiled_expressions(connection)
    return connection.execute(_LINK_PASS, {"genesis": chain.GENESIS_HASH}).one()._asdict()


def _checkpoints(connection: Connection) -> list[Discrepancy]:
    with Session(bind=connection) as session:
        return checkpoints_valid(session)


def _merkle_blocks(connection: Connection) -> list[Discrepancy]:
    with Session(bind=connection) as session:
        return merkle_blocks_valid(session)


def _ranges(session: Session, parts: int) -> list[tuple[int, int]]:
    newest = session.scalar(text("SELECT max(id) FROM ledger_transactions")) or 0
    step = max(newest // parts + 1, 1)
    bounds = [step * n for n in range(1, parts)]
    return list(zip([-_BIGINT - 1, *bounds], [*bounds, _BIGINT], strict=True))


@contextmanager
def full_check(session: Session, *, late_before, workers: int = WORKERS) -> Iterator[Callable[[], FullCheck]]:
    """Start the passes on ``session``'s snapshot (a REPEATABLE READ transaction on PostgreSQL);
    the caller may go on using the session meanwhile (e.g. for the domains' checks), then calls
    what this yields to wait for the passes and get their ``FullCheck``.

    Raises ``DBAPIError`` if a pass fails (say a details text that is not valid jsonb): the caller
    then checks the book the slow way, with ``ledger.verify``'s checks one by one.
    """
    snapshot_id = session.scalar(text("SELECT pg_export_snapshot()"))
    # The passes take every core: a parallel plan in the caller's checks meanwhile (the domains')
    # would only add its workers' CPU. Until the caller's transaction ends.
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    if not _SNAPSHOT_ID.match(snapshot_id or ""):
        raise ValueError(f"unexpected snapshot id {snapshot_id!r}")

    def on_snapshot(work, *args):
        with _on_snapshot(session, snapshot_id) as connection:
            return work(connection, *args)

    ranges = _ranges(session, workers * RANGES_PER_WORKER)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile") as pool:
        # The Merkle pass hashes in this process while the database works on the others: it starts
        # first. Then the other single passes, then the ranges of transactions: many short ones, so
        # that when the last ends the other worker has at most one short range left.
        blocks = pool.submit(on_snapshot, _merkle_blocks)
        accounts = pool.submit(on_snapshot, _account_pass)
        links = pool.submit(on_snapshot, _link_pass)
        checkpoints = pool.submit(on_snapshot, _checkpoints)
        transaction_passes: list[Future] = [
            pool.submit(on_snapshot, _transaction_pass, lo, hi, late_before) for lo, hi in ranges
        ]

        def result() -> FullCheck:
            return _gather(
                session, [p.result() for p in transaction_passes], accounts.result(), links.result(),
                checkpoints.result(), blocks.result(),
            )

        try:
            yield result
        finally:
            for future in (*transaction_passes, accounts, blocks, links, checkpoints):
                future.cancel()


def _gather(session: Session, transaction_passes: list[dict], accounts: list, links: dict,
            checkpoints: list[Discrepancy], blocks: list[Discrepancy]) -> FullCheck:
    """The discrepancies of every check, rechecking in ``session`` what the passes found suspect."""
    stored, negative_stored, negative_derived, unit_sums, other_unit_accounts = [], [], [], [], []
    counts = {}
    for kind, account_id, unit, balance, version, total, n, track, allow_negative in accounts:
        if kind == "account":
            total, n = int(total or 0), int(n or 0)
            if track and balance != total:
                stored.append(Discrepancy("stored_balance", f"account:{account_id}", total, balance))
            if track and version != n:
                stored.append(Discrepancy("account_version", f"account:{account_id}", n, version))
            if not allow_negative and balance < 0:
                negative_stored.append(Discrepancy("negative_balance", f"account:{account_id}", ">=0", int(balance)))
            if not allow_negative and total < 0:
                negative_derived.append(Discrepancy("negative_entries_sum", f"account:{account_id}", ">=0", total))
        elif kind == "unit":
            unit_sums.append(Discrepancy("unit_sum", f"unit:{unit}", 0, int(total)))
        elif kind == "unit_of_account":
            other_unit_accounts.append(account_id)
        else:
            counts = {"accounts": int(account_id), "entries": int(n or 0)}
    units = unit_sums
    if other_unit_accounts:
        units += [Discrepancy("entry_unit", f"entry:{e}", a, u)
                  for e, u, a in session.execute(_ENTRIES_IN_ANOTHER_UNIT, {"accounts": other_unit_accounts})]

    unbalanced = [t for p in transaction_passes for t in p["unbalanced"] or ()]
    suspects = {s for p in transaction_passes for s in p["suspects"] or ()} | set(links["suspects"] or ())
    if sum(p["linked"] for p in transaction_passes) != links["links"]:
        suspects |= set(session.scalars(_LINKS_WITHOUT_TRANSACTION))
    if sum(int(p["entries"]) for p in transaction_passes) != counts["entries"]:
        unbalanced += session.scalars(_ENTRIES_WITHOUT_TRANSACTION).all()
    counts["transactions"] = sum(p["transactions"] for p in transaction_passes)
    counts["chain_links"] = links["links"]
    checks = {
        "stored_balances": stored,
        "transactions_balanced": transactions_balanced_among(session, unbalanced) if unbalanced else [],
        "units_balanced": units,
        "no_negative_wallets": negative_stored + negative_derived,
        "checkpoints": checkpoints,
        "chain_valid": (recheck_links(session, sorted(suspects)) if suspects else []) + blocks,
    }
    return FullCheck(checks, counts, sum(p["late"] for p in transaction_passes))

