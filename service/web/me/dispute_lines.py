"""The disputed statement lines in the reader's words (what it was, its date and amount, as the
statement shows them), for the resident's disputes page and the desk's, instead of a transaction
number and an internal kind."""

from __future__ import annotations

from sqlalchemy import and_, or_, select

import ledger
from ledger import Account, AccountType, Entry, Transaction

from ...members.models import Member
from .statement import statement_rows


def wallet_lines(session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], ledger.StatementLine]:
    """For each (transaction, member): the entry on the member's wallet (coins or hours), or else on
    their household's wallet, as a statement line."""
    if not pairs:
        return {}
    member_ids = {m for _t, m in pairs}
    households = dict(session.execute(select(Member.id, Member.household_id).where(Member.id.in_(member_ids))).all())
    query = (
        select(Entry.id, Entry.transaction_id, Entry.account_id, Entry.unit, Entry.amount, Entry.balance_after,
               Transaction.created_at, Transaction.kind, Transaction.memo, Transaction.actor_id,
               Transaction.location, Transaction.details, Transaction.reverses_id, Account.type, Account.owner_id)
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .join(Account, Account.id == Entry.account_id)
        .where(Entry.transaction_id.in_({t for t, _m in pairs}))
        .where(or_(
            and_(Account.type == AccountType.MEMBER_WALLET.value, Account.owner_id.in_(member_ids)),
            and_(Account.type == AccountType.HOUSEHOLD_WALLET.value,
                 Account.owner_id.in_({h for h in households.values() if h})),
        ))
    )
    found: dict[tuple[int, int], ledger.StatementLine] = {}
    for *row, account_type, owner in session.execute(query).all():
        line = ledger.StatementLine(*row)
        for tx, member in pairs:
            if tx != line.transaction_id:
                continue
            own = account_type == AccountType.MEMBER_WALLET.value and owner == member
            theirs = account_type == AccountType.HOUSEHOLD_WALLET.value and owner == households.get(member)
            if own or (theirs and (tx, member) not in found):
                found[(tx, member)] = line
    return found


def disputed_rows(session, disputes) -> dict[int, dict]:
    """dispute id -> the disputed line as a statement row in its resident's words, for every dispute
    at once (one read of the residents, one description pass)."""
    lines = wallet_lines(session, {(d.transaction_id, d.member_id) for d in disputes})
    shown = [d for d in disputes if (d.transaction_id, d.member_id) in lines]
    if not shown:
        return {}
    readers = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_({d.member_id for d in shown})))}
    described = statement_rows(
        session, [lines[(d.transaction_id, d.member_id)] for d in shown], readers=[readers.get(d.member_id) for d in shown]
    )
    return {d.id: row for d, row in zip(shown, described, strict=True)}
