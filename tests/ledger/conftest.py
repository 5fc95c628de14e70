"""Helpers for the ledger tests: a small book of accounts opened straight through ``ledger``."""

from __future__ import annotations

import itertools
import shutil
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

import ledger
from ledger import AccountType, Unit
from ledger.models import Account, ChainLink, Entry, Transaction
from ledger.verify import verify_all

_community_ids = itertools.count(9_000_001)
# Account codes are type:owner:unit, so owner ids must be unique across books, as member ids are.
_owner_ids = itertools.count(9_000_001)


@dataclass
class Book:
    """The accounts of one community: issuance per unit, an expiry sink, wallets and a till."""

    community_id: int
    issuance: int
    hour_issuance: int
    sink: int
    wallets: list[int]
    hour_wallet: int
    till: int


def open_book(session_factory, *, wallets: int = 4) -> Book:
    community_id = next(_community_ids)

    def work(session):
        def account(type_, unit=Unit.COIN):
            return ledger.open_account(
                session, type=type_, unit=unit, community_id=community_id, owner_id=next(_owner_ids)
            ).id

        return Book(
            community_id=community_id,
            issuance=account(AccountType.ISSUANCE),
            hour_issuance=account(AccountType.ISSUANCE, Unit.HOUR),
            sink=account(AccountType.EXPIRY_SINK),
            wallets=[account(AccountType.MEMBER_WALLET) for _ in range(wallets)],
            hour_wallet=account(AccountType.MEMBER_WALLET, Unit.HOUR),
            till=account(AccountType.SUPERMARKET_TILL),
        )

    return ledger.run_in_transaction(session_factory, work)


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def award(session_factory, book: Book, wallet: int, amount: int, *, idempotency_key: str | None = None):
    return ledger.run_in_transaction(
        session_factory,
        lambda s: ledger.post(
            s,
            lines=[ledger.Line(wallet, amount), ledger.Line(book.issuance, -amount)],
            idempotency_key=idempotency_key or key(),
            kind="award",
            community_id=book.community_id,
        ),
    )


def transfer(session_factory, book: Book, source: int, target: int, amount: int, *, idempotency_key=None):
    return ledger.run_in_transaction(
        session_factory,
        lambda s: ledger.post(
            s,
            lines=[ledger.Line(source, -amount), ledger.Line(target, amount)],
            idempotency_key=idempotency_key or key(),
            kind="transfer",
            community_id=book.community_id,
        ),
    )


def balance(session_factory, account_id: int) -> int:
    with session_factory() as session:
        return ledger.balance(session, account_id)


def unsound(session_factory) -> dict:
    """Seal the chain, then run every invariant check; {} when the book is sound."""

    def work(session):
        ledger.seal(session)
        return {name: found for name, found in verify_all(session).items() if found}

    return ledger.run_in_transaction(session_factory, work)


def footprint(session_factory) -> dict:
    """Everything a posting could leave behind: row counts and every stored balance and version."""
    with session_factory() as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Account, Transaction, Entry, ChainLink)
        }
        stored = session.execute(
            select(Account.id, Account.balance, Account.version).order_by(Account.id)
        ).all()
        return {"counts": counts, "accounts": [tuple(row) for row in stored]}


@pytest.fixture
def fresh_url(database_url, request, tmp_path):
    """A callable giving a new empty migrated database of this test's backend (one per example)."""
    numbers = itertools.count(1)

    def make() -> str:
        if database_url.startswith("sqlite"):
            path = tmp_path / f"example-{next(numbers)}.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        from tests.conftest import empty_postgres

        empty_postgres(database_url)
        return database_url

    return make
