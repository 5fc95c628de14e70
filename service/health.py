"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text

from .extensions import db

blp = Blueprint("health", __name__)

# Labelled by route template (``/api/v1/members/<int:member_id>``), so the series stay few.
REQUESTS = Counter("greencoin_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "greencoin_http_request_seconds", "HTTP request latency per route", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
READY = Gauge("greencoin_ready", "1 when /readyz reports ready")

# name -> check(app) returning (ok, detail). Domains add theirs (e.g. the last reconciliation).
READINESS_CHECKS: dict[str, Callable[[Flask], tuple[bool, object]]] = {}


def readiness_check(name: str):
    def register(fn):
        READINESS_CHECKS[name] = fn
        return fn

    return register


@readiness_check("database")
def _database(_app) -> tuple[bool, object]:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return False, type(exc).__name__


@readiness_check("queue")
def _queue(app) -> tuple[bool, object]:
    url = app.config.get("REDIS_URL")
    if not url:
        return True, "in-process"
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


@blp.get("/healthz")
def healthz():
    return jsonify({"status": "alive"})


@blp.get("/readyz")
def readyz():
    checks = {}
    ready = True
    for name, check in READINESS_CHECKS.items():
        ok, detail = check(current_app)
        checks[name] = {"ok": ok, "detail": detail}
        ready = ready and ok
    READY.set(1 if ready else 0)
    response = jsonify({"status": "ready" if ready else "not_ready", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@blp.get("/metrics")
def metrics():
    return generate_latest(), 200, {"Content-Type": CONTENT_TYPE_LATEST}


def init_app(app: Flask) -> None:
    # These three are public by nature; tell the API access policy so (it only guards /api).
    for view in (healthz, readyz, metrics):
        view._greencoin_access = "public"
    app.register_blueprint(blp)

    @app.after_request
    def _count(response):
        # g.request_started is set by service.telemetry
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if route.startswith("/static/"):
            return response
        REQUESTS.labels(request.method, route, response.status_code).inc()
        if "request_started" in g:
            LATENCY.labels(request.method, route).observe(time.perf_counter() - g.request_started)
        return response
