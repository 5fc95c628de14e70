"""Records of the background work: job runs and reconciliations (the records a job itself keeps,
such as star changes or disclosures, live with their domain)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.models import Base, BigId, UTCDateTime, utcnow


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    """One run of a background job for a business date (local Asia/Shanghai date).

    Scheduled runs carry ``dedupe_key = "<job>:<date>"`` (unique), so a job for a date that already
    succeeded does nothing new; manual runs leave it null and may repeat. A run requested from the
    office starts ``queued`` with its ``params`` and who asked, and reports ``progress`` while it runs.
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started_at", "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(48))
    business_date: Mapped[dt.date | None] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule | manual
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    params: Mapped[dict | None] = mapped_column(JSON, default=dict)
    progress: Mapped[dict | None] = mapped_column(JSON, default=dict)  # {"step", "done", "total"}


class Reconciliation(Base):
    """One reconciliation (对账) of the whole book: what was checked, how long it took, what was found.

    ``upto_*`` are the watermarks the next incremental run starts from (only a passed run's count).
    """

    __tablename__ = "reconciliations"
    __table_args__ = (Index("ix_reconciliations_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id"))
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | manual
    business_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # passed | failed
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(BigInteger)
    checks: Mapped[dict] = mapped_column(JSON, default=dict)  # check -> discrepancies found
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    discrepancy_count: Mapped[int] = mapped_column(Integer, default=0)
    since_transaction_id: Mapped[int] = mapped_column(BigInteger, default=0)
    since_entry_id: Mapped[int] = mapped_column(BigInteger, default=0)
    since_chain_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    upto_transaction_id: Mapped[int] = mapped_column(BigInteger, default=0)
    upto_entry_id: Mapped[int] = mapped_column(BigInteger, default=0)
    upto_chain_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    upto_chain_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)

    discrepancies: Mapped[list[ReconciliationDiscrepancy]] = relationship(
        order_by="ReconciliationDiscrepancy.id", lazy="selectin", viewonly=True
    )


class ReconciliationDiscrepancy(Base):
    __tablename__ = "reconciliation_discrepancies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(ForeignKey("reconciliations.id"), index=True)
    check: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(120))
    expected: Mapped[str | None] = mapped_column(Text)
    actual: Mapped[str | None] = mapped_column(Text)
