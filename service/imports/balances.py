"""Opening balances from a scheme's old ledger, a batch at a time, with the rules and results of
posting them one by one.

Python checks each row's community and amounts; the batch's volunteer numbers are COPYed into a
staging table and one query finds each row's resident and wallets (a missing wallet is opened for
the whole batch with one INSERT … SELECT). Each row's postings form one group of
``ledger.bulk.post_groups`` (a row is posted whole or not at all, with ``post``'s idempotency keys
and hashes), and the batch is linked into the hash chain before it commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

import ledger
from ledger import AccountType, Unit, utcnow
from ledger.bulk import Posting, post_groups

from ..community.operations import issuance_account
from ..errors import Invalid, NotFound
from .residents import RowError, community_of
from .staging import UNITS, execute, stage

MAX_AMOUNT = 10_000_000  # per wallet: far above any real balance, catches a shifted column
ROWS = "import_balance_rows"
DEFAULT_NOTE = "opening balance from the old ledger"

_MEMBERS = f"""
FROM {ROWS} s JOIN members m ON m.volunteer_number = s.volunteer_number AND m.community_id = s.community_id
"""
_WALLETS = f"""
SELECT s.row_no, m.id, coin.id, hour.id {_MEMBERS}
LEFT JOIN ledger_accounts coin ON coin.code = '{AccountType.MEMBER_WALLET.value}:' || m.id || '\\:COIN'
LEFT JOIN ledger_accounts hour ON hour.code = '{AccountType.MEMBER_WALLET.value}:' || m.id || '\\:HOUR'
"""
_OPEN_MISSING_WALLETS = f"""
INSERT INTO ledger_accounts (code, type, unit, community_id, owner_id, allow_negative, track_balance, balance,
                             version, created_at)
SELECT '{AccountType.MEMBER_WALLET.value}:' || m.id || ':' || u.unit, '{AccountType.MEMBER_WALLET.value}', u.unit,
       m.community_id, m.id, FALSE, TRUE, 0, 0, :now
FROM (SELECT DISTINCT m.id, m.community_id {_MEMBERS}) m CROSS JOIN {UNITS} u
WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a
                  WHERE a.code = '{AccountType.MEMBER_WALLET.value}:' || m.id || ':' || u.unit)
"""


def whole_number(row: dict, column: str, *, minimum: int = 0) -> int:
    raw = row.get(column, "0")
    if not (raw.lstrip("-").isdigit() and raw.isascii()):
        raise RowError(column, Invalid(f"{column} must be a whole number", code="not_an_integer"))
    value = int(raw)
    if not minimum <= value <= MAX_AMOUNT:
        raise RowError(column, Invalid(f"{column} must be between {minimum} and {MAX_AMOUNT}", code="out_of_range"))
    return value


def _postings(row: dict, community_id: int, member_id: int, wallets: dict, sources: dict,
              actor_id: int | None, details: dict) -> list[Posting]:
    """Coins and banked minutes as ``opening_balance`` from issuance; lifetime minutes (stars) as
    ``opening_lifetime_hours``, and banked minutes below them taken back as ``opening_hours_spent``.
    ``details`` (note -> details) lets a batch's postings share one details object per note."""
    coins = whole_number(row, "coins")
    banked = whole_number(row, "hours_minutes")
    lifetime = whole_number(row, "lifetime_hours_minutes")
    note = row.get("note", DEFAULT_NOTE)
    if note not in details:
        details[note] = {"description": note, "source": "import"}
    parts = []
    if coins:
        parts.append(("opening_balance", "coins", Unit.COIN, coins))
    if lifetime:
        parts.append(("opening_lifetime_hours", "lifetime", Unit.HOUR, lifetime))
    if banked != lifetime:
        kind = "opening_balance" if banked > lifetime else "opening_hours_spent"
        parts.append((kind, "hours", Unit.HOUR, banked - lifetime))
    return [
        Posting(
            lines=[ledger.Line(wallets[unit], amount), ledger.Line(sources[unit], -amount)],
            idempotency_key=f"import:opening:{community_id}:{member_id}:{part}",
            kind=kind,
            community_id=community_id,
            memo=note,
            actor_id=actor_id,
            details=details[note],
        )
        for kind, part, unit, amount in parts
    ]


def import_batch(session: Session, batch: list[tuple[int, dict]], communities: dict, sources: dict,
                 *, actor_id: int | None = None) -> list[dict]:
    """Results of one batch of numbered rows, in sheet order; its postings written and sealed."""
    results, staged = [], []
    for number, row in batch:
        try:
            staged.append((number, community_of(row, communities), row))
        except RowError as exc:
            results.append(exc.result(number))
    stage(session, ROWS, (("row_no", "BIGINT"), ("community_id", "BIGINT"), ("volunteer_number", "TEXT")),
          [(number, community_id, row.get("volunteer_number")) for number, community_id, row in staged])
    wallets = {row[0]: row[1:] for row in execute(session, _WALLETS)}
    if any(None in found for found in wallets.values()):
        execute(session, _OPEN_MISSING_WALLETS, now=utcnow())
        wallets = {row[0]: row[1:] for row in execute(session, _WALLETS)}

    groups, owners, details = [], [], {}
    for number, community_id, row in staged:
        if number not in wallets:
            code = row.get("community_code")
            error = NotFound(f"no volunteer {row.get('volunteer_number')} in {code}", code="unknown_volunteer")
            results.append(RowError("volunteer_number", error).result(number))
            continue
        member_id, coin, hour = wallets[number]
        if community_id not in sources:
            sources[community_id] = {unit: issuance_account(session, community_id, unit).id for unit in Unit}
        try:
            postings = _postings(row, community_id, member_id, {Unit.COIN: coin, Unit.HOUR: hour},
                                 sources[community_id], actor_id, details)
        except RowError as exc:
            results.append(exc.result(number))
            continue
        groups.append(postings)
        owners.append((number, member_id))

    for (number, member_id), outcome in zip(owners, post_groups(session, groups, seal=True), strict=True):
        if isinstance(outcome, ledger.LedgerError):
            results.append({"row": number, "status": "error", "code": outcome.code, "message": outcome.message,
                            "column": None})
            continue
        status = "exists" if outcome and all(p.replayed for p in outcome) else "created" if outcome else "empty"
        results.append({"row": number, "status": status, "member_id": member_id, "postings": len(outcome)})
    return results
