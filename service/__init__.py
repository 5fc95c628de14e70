"""The Greencoin Flask service: API, pages, auth and the domain features built on the ledger."""

from __future__ import annotations

import logging
import os

from flask import Flask

from . import domains, health, http_security, localtime, openapi, request_body, telemetry
from .auth.access import enforce_access_policy
from .config import check_keys, settings_from_env
from .errors import GreencoinApi, refuse_wrong_media_type, register_error_handlers
from .extensions import db, limiter


def create_app(config: dict | None = None) -> Flask:
    """Build the app; ``config`` overrides settings read from the environment (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(settings_from_env(app.instance_path))
    app.config.update(config or {})
    check_keys(app.config)  # no personal-data key in production: refuse to start
    localtime.init_app(app)  # the zone, read once

    domains.import_models()
    db.init_app(app)
    http_security.init_app(app)
    request_body.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis down must never stop sign-in or posting: limits then count in this process's memory.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    if app.config["GREENCOIN_ENV"] == "production" and not app.config["REDIS_URL"]:
        logging.getLogger(__name__).warning(
            "REDIS_URL is not set: the per-address sign-in limits count in each process; the per-account "
            "lockout is in the database and holds across processes"
        )
    api = GreencoinApi(app)
    register_error_handlers(app)
    telemetry.init_app(app)  # JSON logs, X-Request-Id; before health's metrics hooks
    health.init_app(app)
    openapi.init_app(app, api)  # before the API blueprints: converters, the contract plugin

    for module in domains.domain_modules("api"):
        blueprint = module.blp
        if not getattr(blueprint, "_greencoin_guarded", False):  # once per process, not per app
            blueprint.before_request(refuse_wrong_media_type)
            blueprint.before_request(enforce_access_policy)
            blueprint._greencoin_guarded = True
        api.register_blueprint(blueprint)
    http_security.relax_for_api_docs(app)
    for module in domains.domain_modules("web"):
        module.init_app(app)
    return app
