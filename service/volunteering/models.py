"""Activities of volunteer stations, service records, their certificates and fraud alerts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow


class RecordStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVERSED = "reversed"


class Activity(Base):
    """An activity on a station's list (e.g. 环境整治, 助老送餐) that service records refer to."""

    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("station_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceRecord(Base):
    """One stretch of volunteer service by one volunteer at one station (志愿服务记录).

    ``pending`` -> ``approved`` | ``rejected``; ``approved`` -> ``reversed``. The natural key
    (volunteer, station, start, end) makes re-sent sign-in sheets create nothing twice.
    """

    __tablename__ = "service_records"
    __table_args__ = (
        UniqueConstraint("volunteer_id", "station_id", "started_at", "ended_at"),
        Index("ix_service_records_volunteer_status_start", "volunteer_id", "status", "started_at"),
        Index("ix_service_records_station_status", "station_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    activity_name: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    service_date: Mapped[dt.date] = mapped_column(Date)  # local (Asia/Shanghai) date of the start, for the daily cap
    evidence: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.PENDING.value)
    late_entry: Mapped[bool] = mapped_column(Boolean, default=False)  # 补录
    needs_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    admin_approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    coins: Mapped[int | None] = mapped_column(Integer)
    coins_per_hour: Mapped[int | None] = mapped_column(Integer)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    rejected_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    reversed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    reversal_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def review_reasons(self) -> list[str]:
        """Why the record needs an administrator's approval as well: 补录 or over the daily cap."""
        return [reason for reason, flag in (("late_entry", self.late_entry), ("over_daily_cap", self.needs_admin)) if flag]


class Certificate(Base):
    """A service record certificate (志愿服务记录证明), issued as a 平台记录: an immutable snapshot
    of a volunteer's approved hours that anyone can check by its number."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The masked, public snapshot: never the national ID number or the full name.
    snapshot: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))


class FraudAlert(Base):
    """A pattern worth a human look (never an automatic punishment)."""

    __tablename__ = "fraud_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    business_date: Mapped[dt.date] = mapped_column(Date)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | dismissed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dismissal_reason: Mapped[str | None] = mapped_column(Text)


class ServiceRecordImport(Base):
    """A row of ``greencoin import-service-records`` that was imported: the row's keyed digest (never
    its content), so a re-run of the same file finds the row and creates nothing twice."""

    __tablename__ = "service_record_imports"

    import_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
