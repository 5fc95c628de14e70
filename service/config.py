"""Settings, read from the environment in one place.

| variable | default | meaning |
|---|---|---|
| ``DATABASE_URL`` | ``sqlite:///<instance>/greencoin.db`` | SQLAlchemy URL; ``postgresql+psycopg://…`` in production |
| ``GREENCOIN_DATABASE_POOLER`` | ``none`` | ``transaction``: ``DATABASE_URL`` points at PgBouncer in transaction mode (no server-side prepared statements); ``none`` or ``session``: nothing to change |
| ``REDIS_URL`` | unset | Redis for RQ jobs and rate limits; unset = jobs run in-process |
| ``SECRET_KEY`` | a development key | signs sessions; set it in production |
| ``GREENCOIN_ENV`` | inferred | ``production``, ``development`` or ``test``; unset = ``production`` with a non-SQLite ``DATABASE_URL`` |
| ``GREENCOIN_PII_KEY`` | dev/test only: a development key | keys every digest of personal data (national ID, phone, card code, PIN in idempotency hashes); required in production, ≥ 32 characters, not the ``SECRET_KEY`` |
| ``GREENCOIN_TIMEZONE`` | ``Asia/Shanghai`` | local time for display and business dates |
| ``TOKEN_TTL_MINUTES`` | ``720`` | lifetime of API bearer tokens |
| ``LOGIN_RATE_LIMIT`` | ``10 per 5 minutes`` | failed sign-ins per client address and account (name, card or phone as looked up) |
| ``LOGIN_ADDRESS_RATE_LIMIT`` | ``100 per 5 minutes`` | failed sign-ins per client address, whatever the account |
| ``LOGIN_LOCKOUT_AFTER`` | ``10`` | failed sign-ins in a row, from any address, after which the account is locked |
| ``LOGIN_LOCKOUT_SECONDS`` | ``60`` | the first lock; each further failure doubles it, up to a day |
| ``GREENCOIN_MAX_REQUEST_BYTES`` | ``2097152`` (2 MiB) | largest request body; a larger one is answered 413 unread |
| ``GREENCOIN_TRUSTED_PROXIES`` | ``0`` | reverse proxies in front of the service whose ``X-Forwarded-*`` headers are believed |
| ``GREENCOIN_SECURE_COOKIES`` | ``auto`` | ``1``: cookies only over HTTPS; ``0``: never marked Secure; ``auto``: Secure when the request came over HTTPS |
| ``STAR_THRESHOLDS_HOURS`` | ``100,300,600,1000,1500`` | lifetime hours for volunteer stars 1..5 |
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.db import POOLERS

SWAGGER_UI_URL = "/static/apidocs/swagger-ui-dist-5.35.0/"  # see service/static/apidocs/README.md
REDOC_URL = "/static/apidocs/redoc-2.5.4/redoc.standalone.js"
DEV_SECRET_KEY = "greencoin-development-key-change-me"
# Public, so only for development and tests, and different from DEV_SECRET_KEY on purpose.
DEV_PII_KEY = "greencoin-development-personal-data-key-not-for-production"
MODES = ("production", "development", "test")
MIN_PII_KEY = 32


def _star_thresholds(raw: str) -> tuple[int, ...]:
    values = tuple(int(v) for v in raw.split(",") if v.strip())
    if list(values) != sorted(values) or any(v <= 0 for v in values):
        raise ValueError("STAR_THRESHOLDS_HOURS must be increasing positive integers")
    return values


def _secure_cookies(raw: str) -> str:
    value = raw.strip().lower() or "auto"
    if value not in ("auto", "1", "0"):
        raise ValueError("GREENCOIN_SECURE_COOKIES must be auto, 1 or 0")
    return value


def _pooler(raw: str) -> str:
    value = raw.strip().lower() or "none"
    if value not in POOLERS:
        raise ValueError(f"GREENCOIN_DATABASE_POOLER must be one of {', '.join(POOLERS)}")
    return value


def settings_from_env(instance_path: str, env: dict | None = None) -> dict:
    env = os.environ if env is None else env
    default_db = f"sqlite:///{Path(instance_path) / 'greencoin.db'}"
    return {
        "DATABASE_URL": env.get("DATABASE_URL", default_db),
        "DATABASE_POOLER": _pooler(env.get("GREENCOIN_DATABASE_POOLER", "")),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SECRET_KEY": env.get("SECRET_KEY", DEV_SECRET_KEY),
        "GREENCOIN_ENV": env.get("GREENCOIN_ENV") or None,
        "PII_KEY": env.get("GREENCOIN_PII_KEY") or None,
        "TIMEZONE": env.get("GREENCOIN_TIMEZONE", "Asia/Shanghai"),
        "TOKEN_TTL_MINUTES": int(env.get("TOKEN_TTL_MINUTES", "720")),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per 5 minutes"),
        "LOGIN_ADDRESS_RATE_LIMIT": env.get("LOGIN_ADDRESS_RATE_LIMIT", "100 per 5 minutes"),
        "LOGIN_LOCKOUT_AFTER": int(env.get("LOGIN_LOCKOUT_AFTER", "10")),
        "LOGIN_LOCKOUT_SECONDS": int(env.get("LOGIN_LOCKOUT_SECONDS", "60")),
        "MAX_CONTENT_LENGTH": int(env.get("GREENCOIN_MAX_REQUEST_BYTES", str(2 * 1024 * 1024))),
        "TRUSTED_PROXIES": int(env.get("GREENCOIN_TRUSTED_PROXIES", "0")),
        "SECURE_COOKIES": _secure_cookies(env.get("GREENCOIN_SECURE_COOKIES", "auto")),
        "STAR_THRESHOLDS_HOURS": _star_thresholds(env.get("STAR_THRESHOLDS_HOURS", "100,300,600,1000,1500")),
        # flask-smorest / OpenAPI
        "API_TITLE": "Greencoin API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_URL,  # vendored: the pages work without internet
        "OPENAPI_REDOC_PATH": "redoc",
        "OPENAPI_REDOC_URL": REDOC_URL,
        "API_SPEC_OPTIONS": {
            "info": {
                "description": "Greencoin (绿币): community points and a volunteer time bank on a double-entry "
                "ledger. docs/integrate.md explains authentication, idempotency and retries, errors and "
                "pagination; docs/api.md is this document as Markdown.",
            },
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearerAuth": []}],
        },
        "JSON_AS_ASCII": False,
    }


def resolve_mode(config) -> str:
    """``GREENCOIN_ENV`` if set; else ``test`` under TESTING, ``development`` on SQLite, and
    ``production`` on any other database: an operator who forgets to say gets the strict mode."""
    mode = config.get("GREENCOIN_ENV")
    if mode:
        if mode not in MODES:
            raise RuntimeError(f"GREENCOIN_ENV must be one of {', '.join(MODES)}, not {mode!r}")
        return mode
    if config.get("TESTING"):
        return "test"
    return "development" if str(config.get("DATABASE_URL", "")).startswith("sqlite") else "production"


def check_keys(config) -> None:
    """Refuse to start in production without a personal-data key of its own; outside production
    fall back to the public development key (never the session key)."""
    config["GREENCOIN_ENV"] = mode = resolve_mode(config)
    key = config.get("PII_KEY")
    if mode != "production":
        config["PII_KEY"] = key or DEV_PII_KEY
        return
    if not key:
        raise RuntimeError(
            "GREENCOIN_PII_KEY is not set: in production (GREENCOIN_ENV=production, or a non-SQLite "
            "DATABASE_URL) the key that protects national ID numbers and other personal data is required"
        )
    if len(key) < MIN_PII_KEY or key in (DEV_PII_KEY, DEV_SECRET_KEY) or key == config.get("SECRET_KEY"):
        raise RuntimeError(
            f"GREENCOIN_PII_KEY must be a secret of at least {MIN_PII_KEY} characters, "
            "not a development key and not the SECRET_KEY"
        )
    secret = config.get("SECRET_KEY") or ""
    if len(secret) < MIN_PII_KEY or secret in (DEV_SECRET_KEY, DEV_PII_KEY):
        raise RuntimeError(
            f"SECRET_KEY must be a secret of at least {MIN_PII_KEY} characters in production, not the "
            "development key: it signs the session cookie and its CSRF token"
        )
