"""The schedule: one declarative list, registered with RQ's built-in cron (``rq cron workers.schedule``)
and run by the in-process runner when there is no Redis.

Cron strings are evaluated in **UTC** by rq cron (and by the in-process runner, to match):
``"0 18 * * *"`` is 02:00 in Asia/Shanghai. rq cron does not catch up missed runs, so each nightly
job processes every business date it has not done yet. Run exactly one ``rq cron`` process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rq import cron

from . import jobs

DEFAULT_QUEUE = "default"
NIGHTLY_QUEUE = "nightly"


@dataclass(frozen=True)
class Scheduled:
    name: str
    func: Callable
    queue: str
    cron: str | None = None  # UTC
    interval: int | None = None  # seconds
    timeout: int = 3600
    catch_up: bool = True  # the in-process runner also runs it once at start

    @property
    def daily(self) -> bool:
        return self.cron is not None and self.cron.split()[2:] == ["*", "*", "*"]


SCHEDULE = [
    # Every transaction is sealed into the hash chain within a minute of its commit.
    Scheduled("seal_chain", jobs.seal_chain, DEFAULT_QUEUE, interval=15, timeout=300),
    # 00:00 Asia/Shanghai: prices changed from the new day on.
    Scheduled("price_changes", jobs.apply_price_changes, NIGHTLY_QUEUE, cron="0 16 * * *"),
    # 02:00-03:00 Asia/Shanghai, in this order; reconciliation last, so it checks the night's postings.
    Scheduled("system_checkpoints", jobs.checkpoint_system_accounts, NIGHTLY_QUEUE, cron="0 18 * * *"),
    Scheduled("notice_period", jobs.credit_notice_period_awards, NIGHTLY_QUEUE, cron="5 18 * * *"),
    Scheduled("coin_expiry", jobs.expire_coins, NIGHTLY_QUEUE, cron="10 18 * * *"),
    Scheduled("dispute_deadlines", jobs.escalate_disputes, NIGHTLY_QUEUE, cron="15 18 * * *"),
    Scheduled("reservation_lapse", jobs.lapse_reservations, NIGHTLY_QUEUE, cron="17 18 * * *"),
    Scheduled("star_tiers", jobs.apply_star_tiers, NIGHTLY_QUEUE, cron="20 18 * * *"),
    Scheduled("merkle_blocks", jobs.build_merkle_blocks, NIGHTLY_QUEUE, cron="25 18 * * *"),
    Scheduled("disclosure", jobs.publish_disclosures, NIGHTLY_QUEUE, cron="30 18 * * *"),
    Scheduled("fraud_scan", jobs.scan_fraud, NIGHTLY_QUEUE, cron="40 18 * * *"),
    Scheduled("reconciliation", jobs.reconcile, NIGHTLY_QUEUE, cron="0 19 * * *", timeout=4 * 3600),
    # A full reconciliation every Sunday 03:30 Asia/Shanghai (Saturday 19:30 UTC).
    Scheduled("reconciliation_full", jobs.reconcile_full, NIGHTLY_QUEUE, cron="30 19 * * 6", timeout=8 * 3600,
              catch_up=False),
]


def nightly() -> list[Scheduled]:
    """The jobs of every night, in their order (what ``greencoin run-job nightly`` runs)."""
    return [item for item in SCHEDULE if item.queue == NIGHTLY_QUEUE and item.daily]


def register_all(register: Callable = cron.register, *, queue_prefix: str = "") -> list:
    """Register every entry with ``register`` (rq's module-level ``cron.register`` or a
    ``CronScheduler(...).register``); tests pass a queue prefix of their own."""
    return [
        register(
            item.func,
            queue_name=queue_prefix + item.queue,
            cron=item.cron,
            interval=item.interval,
            job_timeout=item.timeout,
            name=queue_prefix + item.name,
        )
        for item in SCHEDULE
    ]


# `rq cron workers.schedule` imports this module and takes what it registered.
register_all()
