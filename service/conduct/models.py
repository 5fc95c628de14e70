"""Good-conduct indicators (积分制), awards and deductions, issuance budgets, monthly disclosures
(积分公示) and supervisors' dispute flags."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow


class Beneficiary(StrEnum):
    MEMBER = "member"
    HOUSEHOLD = "household"


class AwardStatus(StrEnum):
    ANNOUNCED = "announced"  # in its public notice period (公示期), not yet credited
    CREDITED = "credited"
    DISPUTED = "disputed"  # flagged by a supervisor; not credited while disputed
    REVERSED = "reversed"


class Indicator(Base):
    """A community's indicator: a bonus (加分项, positive points) or a deduction (扣分项, negative)."""

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("community_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    beneficiary: Mapped[str] = mapped_column(String(16), default=Beneficiary.MEMBER.value)
    # At most this many points (absolute) from this indicator per beneficiary per calendar month.
    monthly_cap_points: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConductAward(Base):
    """One award or deduction: the points applied are stored here, so editing the indicator later
    never changes it. A deduction takes what the wallet holds and records the shortfall."""

    __tablename__ = "conduct_awards"
    __table_args__ = (
        Index("ix_conduct_awards_status_due", "status", "credit_due_on"),
        Index("ix_conduct_awards_indicator_member", "indicator_id", "member_id", "award_date"),
        Index("ix_conduct_awards_indicator_household", "indicator_id", "household_id", "award_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    indicator_code: Mapped[str] = mapped_column(String(32))
    indicator_name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)  # as applied: positive bonus, negative deduction
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    earned_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    note: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    awarded_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    award_date: Mapped[dt.date] = mapped_column(Date)  # local date, for caps, budgets and disclosure
    status: Mapped[str] = mapped_column(String(16))
    credit_due_on: Mapped[dt.date] = mapped_column(Date)
    credited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    amount_posted: Mapped[int | None] = mapped_column(Integer)  # signed coins that actually moved
    shortfall: Mapped[int] = mapped_column(Integer, default=0)  # deduction points the wallet lacked
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    reversed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    reversal_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class IssuanceBudget(Base):
    """A cap on good-conduct coins a community issues in a period (积分总额控制)."""

    __tablename__ = "issuance_budgets"
    __table_args__ = (UniqueConstraint("community_id", "period_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)  # inclusive
    coins: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Disclosure(Base):
    """A community's monthly public disclosure (积分公示), frozen when generated on the 1st."""

    __tablename__ = "disclosures"
    __table_args__ = (UniqueConstraint("community_id", "month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id"))
    body: Mapped[dict] = mapped_column(JSON)


class FlagStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    REVERSED = "reversed"


class DisputeFlag(Base):
    """A supervisor's (村务监督委员会) dispute of an award or a service record, and the administrator's
    resolution."""

    __tablename__ = "dispute_flags"
    __table_args__ = (Index("ix_dispute_flags_award_id", "award_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    award_id: Mapped[int | None] = mapped_column(BigInteger)  # a conduct award, or
    service_record_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # a service record
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    flagged_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    flagged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=FlagStatus.OPEN.value)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    reversal_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
