"""Service providers, the services they offer for time-bank hours, redemptions and transfers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow


class ServiceProvider(Base):
    """Someone who serves residents for time-bank hours (elder care, repairs, haircuts …);
    their HOUR account receives the hours spent on their services."""

    __tablename__ = "service_providers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TimebankService(Base):
    """A service a provider offers, priced in time-bank minutes."""

    __tablename__ = "timebank_services"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("service_providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(32), default="")
    minutes: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceRedemption(Base):
    """Hours spent on a service: the member's HOUR wallet pays the provider (does not lower
    lifetime hours)."""

    __tablename__ = "service_redemptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("timebank_services.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("service_providers.id"), index=True)
    service_name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    minutes: Mapped[int] = mapped_column(Integer)  # total, at the price in force
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="completed")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    reversed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    reversal_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HourTransfer(Base):
    """Hours given to a family member (转赠亲属), e.g. a child's hours paying for a parent's care."""

    __tablename__ = "hour_transfers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    from_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    to_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
