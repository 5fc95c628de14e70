"""Tables of the double-entry book.

Every row of ``ledger_transactions``, ``ledger_entries`` and ``ledger_chain_links`` is append-only
(database triggers refuse UPDATE and DELETE). The only mutable ledger rows are the stored balance and
version of *tracked* accounts, which always move in the same database transaction as their entries.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# One naming convention from the first migration, so batch mode on SQLite can always find constraints.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids on PostgreSQL; SQLite only autoincrements a plain INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops tzinfo otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base shared by the ledger and the service, so one Alembic history covers both."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Unit(StrEnum):
    """COIN is whole green coins (绿币); HOUR is time-bank credit counted in integer minutes."""

    COIN = "COIN"
    HOUR = "HOUR"


class AccountType(StrEnum):
    MEMBER_WALLET = "member_wallet"
    HOUSEHOLD_WALLET = "household_wallet"
    ISSUANCE = "issuance"
    SUPERMARKET_TILL = "supermarket_till"
    SERVICE_PROVIDER = "service_provider"
    EXPIRY_SINK = "expiry_sink"
    RESERVATION_HOLD = "reservation_hold"  # a member's coins held for goods reserved online


class Account(Base):
    """One balance in one unit.

    ``track_balance`` accounts keep a stored balance updated with every entry (O(1) reads, a row
    lock per posting). Unlimited system accounts (issuance, sinks) set it false: nobody checks their
    balance while posting, so they never become one hot row that serialises every writer; their
    balance is derived from checkpoints plus later entries.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("allow_negative OR balance >= 0", name="non_negative"),
        CheckConstraint("track_balance OR (balance = 0 AND version = 0)", name="untracked_has_no_balance"),
        # Ids are never reused, so the posting code may cache an account's immutable shape.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(8))
    community_id: Mapped[int] = mapped_column(BigInteger, index=True)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    track_balance: Mapped[bool] = mapped_column(Boolean, default=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Transaction(Base):
    """One posting: two or more entries that sum to zero per unit, written atomically."""

    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))
    community_id: Mapped[int] = mapped_column(BigInteger, index=True)
    memo: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    location: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)
    related_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    content_hash: Mapped[str] = mapped_column(String(64))

    entries: Mapped[list[Entry]] = relationship(
        back_populates="transaction", order_by="Entry.id", lazy="selectin", viewonly=True
    )


class Entry(Base):
    """One signed amount on one account: positive raises the account's balance, negative lowers it."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        UniqueConstraint("account_id", "account_version"),
        # Carries amount, transaction and unit (PostgreSQL): an account's sum, which transactions
        # moved a till how much, and reconciliation's grouping by account read the index alone.
        Index("ix_ledger_entries_account_id_id", "account_id", "id",
              postgresql_include=["amount", "transaction_id", "unit"]),
        # A transaction's lines in their canonical order (migration 0028): reconciliation rebuilds
        # each transaction's canonical text from this index alone, already sorted.
        Index("ix_ledger_entries_transaction_id", "transaction_id", "account_id", "unit", "amount"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    unit: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    # Set for tracked accounts only: the balance and version this entry produced.
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    account_version: Mapped[int | None] = mapped_column(BigInteger)

    transaction: Mapped[Transaction] = relationship(back_populates="entries", viewonly=True)


class ChainLink(Base):
    """A sealed link of the hash chain, written shortly after commit in commit order (see chain.py)."""

    __tablename__ = "ledger_chain_links"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BalanceCheckpoint(Base):
    """The balance of an untracked (system) account over all its entries up to ``upto_entry_id``."""

    __tablename__ = "ledger_balance_checkpoints"
    __table_args__ = (Index("ix_ledger_balance_checkpoints_account_upto", "account_id", "upto_entry_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    upto_entry_id: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
