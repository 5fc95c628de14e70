"""Helper grants (代办授权)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow

DEFAULT_MONTHLY_COIN_CAP = 500


class HelperGrant(Base):
    """``helper`` may act for ``elder`` until revoked; kept after revocation as history."""

    __tablename__ = "helper_grants"
    __table_args__ = (Index("ix_helper_grants_helper_member_id_elder_member_id", "helper_member_id", "elder_member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    elder_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    helper_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    relation: Mapped[str] = mapped_column(String(20))  # a family relation, or "grid_worker"
    monthly_coin_cap: Mapped[int] = mapped_column(Integer, default=DEFAULT_MONTHLY_COIN_CAP)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    granted_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    revoked_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class HelperAction(Base):
    """One thing a helper did for the elder, in the same unit of work as its posting."""

    __tablename__ = "helper_actions"
    __table_args__ = (Index("ix_helper_actions_grant_id_created_at", "grant_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("helper_grants.id"))
    kind: Mapped[str] = mapped_column(String(32))  # "redemption", "hour_transfer"
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    coins: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
