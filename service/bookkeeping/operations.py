"""Administrators' adjustments and reading transactions, on top of the ledger."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from ledger import Unit

from ..auth.access import Principal
from ..auth.models import Staff
from ..community.models import Station, Supermarket
from ..community.operations import issuance_account
from ..errors import Invalid, NotFound
from ..members.operations import get_household, get_member, household_wallet, member_wallet

# Kinds an administrator may reverse directly; domain postings (hours, awards, baskets) are
# reversed through their own endpoints so the domain record changes with them.
DIRECTLY_REVERSIBLE = ("adjustment", "opening_balance")


def adjust(
    session: Session,
    principal: Principal,
    *,
    unit: str,
    amount: int,
    reason: str,
    idempotency_key: str,
    member_id: int | None = None,
    household_id: int | None = None,
) -> ledger.Posted:
    """Credit (positive) or debit (negative) a wallet against the community's issuance account."""
    if (member_id is None) == (household_id is None):
        raise Invalid("name exactly one of member_id and household_id", code="one_wallet_required")
    if member_id is not None:
        owner = get_member(session, member_id)
        wallet = member_wallet(session, owner, Unit(unit))
    else:
        owner = get_household(session, household_id)
        if unit != Unit.COIN:
            raise Invalid("household wallets hold coins only", code="household_coins_only")
        wallet = household_wallet(session, owner)
    principal.require_admin_of(owner.community_id)
    source = issuance_account(session, owner.community_id, Unit(unit))
    return ledger.post(
        session,
        lines=[ledger.Line(wallet.id, amount), ledger.Line(source.id, -amount)],
        idempotency_key=idempotency_key,
        kind="adjustment",
        community_id=owner.community_id,
        memo=reason,
        actor_id=principal.staff_id,
        details={"reason": reason},
    )


def get_transaction(session: Session, principal: Principal, transaction_id: int) -> ledger.Transaction:
    tx = session.get(ledger.Transaction, transaction_id)
    if tx is None:
        raise NotFound("transaction not found")
    principal.require_community(tx.community_id, what="transaction")
    if principal.member_id is not None:
        mine = {a.id for u in Unit for a in [member_wallet(session, get_member(session, principal.member_id), u)]}
        if not mine & {e.account_id for e in tx.entries}:
            raise NotFound("transaction not found")
    return tx


def reverse_adjustment(
    session: Session, principal: Principal, *, transaction_id: int, reason: str, idempotency_key: str
) -> ledger.Posted:
    tx = get_transaction(session, principal, transaction_id)
    principal.require_admin_of(tx.community_id)
    if tx.kind not in DIRECTLY_REVERSIBLE:
        raise Invalid(
            f"a {tx.kind} is reversed through its own record, not directly",
            code="not_directly_reversible",
            kind=tx.kind,
        )
    return ledger.reverse(
        session, transaction_id=transaction_id, idempotency_key=idempotency_key, memo=reason,
        actor_id=principal.staff_id, details={"reason": reason},
    )


_PLACES = {"station": Station, "supermarket": Supermarket}  # locations are recorded as '<kind>:<id>'


def _place(location: str | None) -> tuple[str, int] | None:
    kind, _, raw_id = (location or "").partition(":")
    return (kind, int(raw_id)) if kind in _PLACES and raw_id.isdigit() else None


def location_labels(session: Session, locations) -> dict[str, str]:
    """'station:3' -> the station's name, for every location given that names a place there is:
    one read per kind of place, however many lines name them."""
    wanted: dict[str, set[int]] = {}
    for place in filter(None, map(_place, set(locations))):
        wanted.setdefault(place[0], set()).add(place[1])
    labels = {}
    for kind, ids in wanted.items():
        model = _PLACES[kind]
        for place_id, name in session.execute(select(model.id, model.name).where(model.id.in_(ids))):
            labels[f"{kind}:{place_id}"] = name
    return labels


_LINE_FIELDS = tuple(f.name for f in fields(ledger.StatementLine))


def describe_lines(session: Session, lines: list[ledger.StatementLine]) -> list[dict]:
    """Statement lines with who did it and where, and a one-line description of what it was."""
    actor_ids = {ln.actor_id for ln in lines if ln.actor_id}
    names = dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(actor_ids))).all()) if actor_ids else {}
    places = location_labels(session, (ln.location for ln in lines))
    described = []
    for line in lines:
        # Shallow: ``asdict`` deep-copied every line's details (a basket's lines), most of a page's CPU.
        row = {name: getattr(line, name) for name in _LINE_FIELDS}
        row["actor_name"] = names.get(line.actor_id)
        row["location"] = places.get(line.location, line.location)
        row["description"] = line.details.get("description") or line.memo or line.kind
        described.append(row)
    return described
