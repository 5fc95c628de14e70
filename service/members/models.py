"""Residents (居民/村民), households (户) and volunteer stars (志愿者星级)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base, BigId, UTCDateTime, utcnow

from ..auth.residents import register_resident_accounts


class Household(Base):
    """A household (户): many schemes score per household, and its wallet pays for baskets."""

    __tablename__ = "households"
    # Found by community and name (imports; migration 0024).
    __table_args__ = (Index("ix_households_community_id_name", "community_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    # The head of the household (户主), one of its members; households and members refer to each other.
    head_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", use_alter=True))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Member(Base):
    """A resident: earns coins and hours, identified in public only by the volunteer number.

    The national ID number is never stored: only a keyed digest (``GREENCOIN_PII_KEY``; finds
    duplicates, checks an ID card at the desk) and the last four characters ``**************1234``.
    """

    __tablename__ = "members"
    # Found by community and name (imports: community + name + phone; migration 0024).
    __table_args__ = (Index("ix_members_community_id_name", "community_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    national_id_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    national_id_masked: Mapped[str | None] = mapped_column(String(18))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    volunteer_number: Mapped[str] = mapped_column(String(20), unique=True)  # 志愿者编号
    card_code: Mapped[str] = mapped_column(String(32), unique=True)  # printed as the QR member card
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once, by members.lifecycle.deactivate_member (moved away, died); the audit log has who.
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deactivation_reason: Mapped[str | None] = mapped_column(String(500))

    @property
    def national_id_on_file(self) -> bool:
        return self.national_id_digest is not None


register_resident_accounts(Member)  # residents sign in through auth, which does not import members


class VolunteerStar(Base):
    """A volunteer's current star rating (志愿者星级), as the nightly tier run last set it."""

    __tablename__ = "volunteer_stars"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    star: Mapped[int] = mapped_column(Integer)
    lifetime_minutes: Mapped[int] = mapped_column(BigInteger)
    since: Mapped[dt.date] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StarChange(Base):
    """One change of a volunteer's star, with the business date and why (a drop names the reversal)."""

    __tablename__ = "star_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    business_date: Mapped[dt.date] = mapped_column(Date)
    from_star: Mapped[int] = mapped_column(Integer)
    to_star: Mapped[int] = mapped_column(Integer)
    lifetime_minutes: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)  # the reversal behind a drop
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
