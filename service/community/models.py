"""Communities (村/社区) and the places in them: volunteer stations and love supermarkets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow


class Community(Base):
    """A village or urban community (村/社区): one partition of the ledger, with its own rules."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    # Earning rules (SPEC §2); changing them never changes past postings.
    coins_per_hour: Mapped[int] = mapped_column(Integer, default=10)
    daily_cap_minutes: Mapped[int] = mapped_column(Integer, default=480)
    late_entry_days: Mapped[int] = mapped_column(Integer, default=7)
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=True)
    notice_period_days: Mapped[int] = mapped_column(Integer, default=0)
    # Optional time-bank limits.
    hour_storage_cap_minutes: Mapped[int | None] = mapped_column(Integer)
    min_spend_age: Mapped[int | None] = mapped_column(Integer)
    # Optional annual coin expiry (年度清零) as "MM-DD"; null = coins carry forward.
    coin_expiry_month_day: Mapped[str | None] = mapped_column(String(5))
    # Fraud-alert thresholds for the nightly scan (alerts are for review, never a punishment).
    fraud_frequent_credits: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    fraud_frequent_window_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    fraud_long_record_minutes: Mapped[int] = mapped_column(Integer, default=720, server_default="720")
    fraud_day_total_minutes: Mapped[int] = mapped_column(Integer, default=960, server_default="960")
    # Printed on the monthly disclosure (积分公示) and on certificates (志愿服务记录证明).
    objection_contact: Mapped[str] = mapped_column(String(200), default="", server_default="")
    certificate_issuer: Mapped[str] = mapped_column(String(200), default="", server_default="")
    person_in_charge: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # 代办: the most coins a helper may spend for one elder in a calendar month (a grant may set less).
    helper_monthly_coin_cap: Mapped[int] = mapped_column(Integer, default=500, server_default="500")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Station(Base):
    """A volunteer service station (志愿服务站) of a community."""

    __tablename__ = "stations"
    __table_args__ = (UniqueConstraint("community_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Supermarket(Base):
    """A love supermarket (爱心超市) of a community, where coins buy goods."""

    __tablename__ = "supermarkets"
    __table_args__ = (UniqueConstraint("community_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
