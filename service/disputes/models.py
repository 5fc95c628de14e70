"""Disputes and each community's dispute deadlines."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow


class DisputeStatus(StrEnum):
    OPEN = "open"  # waiting for the station or the administrator
    ESCALATED = "escalated"  # not answered by its deadline: the supervisors see it
    KEPT = "kept"  # answered: the line stands, with a reason
    CORRECTED = "corrected"  # answered: the line was reversed through its own record


UNRESOLVED = (DisputeStatus.OPEN.value, DisputeStatus.ESCALATED.value)
DEFAULT_WINDOW_DAYS = 30
DEFAULT_ANSWER_DAYS = 7


class DisputePolicy(Base):
    """A community's deadlines; a community without a row uses the defaults."""

    __tablename__ = "dispute_policies"

    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    window_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_WINDOW_DAYS)
    answer_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_ANSWER_DAYS)


class Dispute(Base):
    """A resident's objection to one ledger transaction on their statement."""

    __tablename__ = "disputes"
    __table_args__ = (
        UniqueConstraint("member_id", "transaction_id"),
        Index("ix_disputes_community_id_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    transaction_kind: Mapped[str] = mapped_column(String(48))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DisputeStatus.OPEN.value)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # desk staff for a resident
    answer_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    correction_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
