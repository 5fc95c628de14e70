"""Reservations and their lines."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow


class ReservationStatus(StrEnum):
    HELD = "held"  # coins held, stock set aside
    PICKED_UP = "picked_up"  # redeemed at the counter
    LAPSED = "lapsed"  # not picked up by the deadline: coins and stock returned
    CANCELLED = "cancelled"  # the resident changed their mind: coins and stock returned


DEFAULT_HOLD_DAYS = 3


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_status_deadline", "status", "deadline"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # shown as a QR code, scanned at the counter
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("supermarkets.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.HELD.value)
    total: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    hold_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    release_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ReservationLine(Base):
    __tablename__ = "reservation_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
