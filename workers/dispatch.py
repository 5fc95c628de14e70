"""Handing a run requested from the office to a worker, so the request that asked answers at once.

With ``REDIS_URL`` the run goes onto the RQ ``default`` queue for ``rq worker``; without it (the
embedded default), or when Redis cannot be reached, a daemon thread of this process carries it out.
Either way the run's row (queued → running → succeeded | failed, with progress) is what the office
polls.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from . import jobs
from .schedule import DEFAULT_QUEUE

log = logging.getLogger(__name__)

# A full reconciliation of a city's book can take hours.
REQUEST_TIMEOUT = 8 * 3600


def submit(app: Flask, run_id: int) -> str:
    """Start carrying out a queued run; returns ``"queue"`` or ``"thread"``."""
    url = app.config.get("REDIS_URL")
    if url:
        from redis import Redis
        from redis.exceptions import RedisError
        from rq import Queue

        queue_name = app.config.get("JOB_QUEUE_PREFIX", "") + DEFAULT_QUEUE
        try:
            connection = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
            Queue(queue_name, connection=connection).enqueue(
                jobs.run_requested, run_id, job_timeout=REQUEST_TIMEOUT, description=f"requested run {run_id}"
            )
            return "queue"
        except RedisError:
            log.warning("Redis unreachable: requested run %s runs in a thread of this process", run_id)
    thread = threading.Thread(
        target=_run_in_thread, args=(app, run_id), name=f"greencoin-run-{run_id}", daemon=True
    )
    thread.start()
    return "thread"


def _run_in_thread(app: Flask, run_id: int) -> None:
    try:
        jobs.run_requested(run_id, app=app)
    except Exception:  # noqa: BLE001 - recorded on the run; a thread has no one else to tell
        log.exception("requested run %s failed", run_id)
