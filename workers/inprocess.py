"""The embedded default: with no REDIS_URL, a thread of the web process runs the same schedule.

Interval entries run every ``interval`` seconds, cron entries when their (UTC) cron time comes, as
under rq cron. In addition the nightly jobs run once shortly after start, because a laptop demo is
rarely running at 02:00 and every nightly job catches up on the dates it missed; the interval jobs
(the sealer) run once before that catch-up.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from croniter import croniter
from flask import Flask

from . import runtime
from .schedule import SCHEDULE, Scheduled

log = logging.getLogger(__name__)


class InProcessScheduler(threading.Thread):
    def __init__(self, app: Flask, schedule: list[Scheduled] | None = None, *, catch_up: bool = True, tick: float = 1.0):
        super().__init__(name="greencoin-jobs", daemon=True)
        self.app = app
        self.schedule = list(schedule or SCHEDULE)
        self.catch_up = catch_up
        self.tick = tick
        self.stopped = threading.Event()
        self.runs: dict[str, int] = {item.name: 0 for item in self.schedule}

    def stop(self, timeout: float = 10) -> None:
        self.stopped.set()
        self.join(timeout)

    def _run(self, item: Scheduled) -> None:
        try:
            item.func()
        except Exception:  # noqa: BLE001 - recorded as a failed job run; the schedule goes on
            log.exception("in-process job %s failed", item.name)
        self.runs[item.name] += 1

    def run(self) -> None:
        runtime.install(self.app)
        now = dt.datetime.now(dt.UTC)
        due: dict[str, dt.datetime] = {}
        for item in self.schedule:
            if item.interval:
                due[item.name] = now  # as rq cron: interval jobs fire at start
            else:
                due[item.name] = croniter(item.cron, now).get_next(dt.datetime)
        if self.catch_up:
            # Seal first: after the process was down, the catch-up reconciliation would otherwise find
            # everything committed since as late to seal.
            for item in self.schedule:
                if item.interval and not self.stopped.is_set():
                    self._run(item)
                    due[item.name] = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=item.interval)
            for item in self.schedule:
                if item.cron and item.catch_up and not self.stopped.is_set():
                    self._run(item)
        while not self.stopped.is_set():
            now = dt.datetime.now(dt.UTC)
            for item in self.schedule:
                if self.stopped.is_set() or now < due[item.name]:
                    continue
                self._run(item)
                due[item.name] = (
                    now + dt.timedelta(seconds=item.interval)
                    if item.interval
                    else croniter(item.cron, now).get_next(dt.datetime)
                )
            self.stopped.wait(self.tick)


def start(app: Flask, **kwargs) -> InProcessScheduler:
    """Start the schedule in a daemon thread of this process (``greencoin up`` calls this)."""
    scheduler = InProcessScheduler(app, **kwargs)
    scheduler.start()
    log.info("in-process jobs started: %s", ", ".join(item.name for item in scheduler.schedule))
    return scheduler
