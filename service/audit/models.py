"""The audit event table (append-only: the database refuses UPDATE and DELETE)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow


class AuditEvent(Base):
    """One administrative change: actor, action, target, and the state before → after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_community_id_id", "community_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_role: Mapped[str] = mapped_column(String(20))  # a Role value, or "system"
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(64))  # e.g. "staff.deactivate", "member.card_lost"
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
