"""Wires the pages into the app (discovered by ``service.domains``): Babel, CSRF, the blueprint."""

from __future__ import annotations

import datetime as dt

from flask import Flask, request, session
from flask_babel import Babel, format_datetime, get_locale

# The pages, by audience (public, me, desk, counter, office): importing a page module adds its routes
# to the blueprint ``bp``, so each is imported here once, plainly, and used by name nowhere.
from .core import LANGUAGES, bp, csrf, error_message, page_error, principal, status_label
from .counter import basket, pickup, refunds, shift  # noqa: F401
from .desk import accounts, conduct, disputes, hours, members, review, roster, sheets  # noqa: F401
from .forms import new_form_key
from .me import card, certificates, family, home, reservations, statement  # noqa: F401
from .me import disputes as my_disputes  # noqa: F401
from .office import audit, catalogue, checks, community, disclosure, households, oversight, records, shelf  # noqa: F401
from .public import auth, proofs  # noqa: F401
from .public import certificates as public_certificates  # noqa: F401


def select_locale() -> str:
    """Chinese by default; the person's choice is kept in the session and a cookie."""
    chosen = session.get("lang") or request.cookies.get("lang")
    return chosen if chosen in LANGUAGES else "zh"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config.get("TIMEZONE", "Asia/Shanghai"))
    # CSRF is checked by the pages' blueprint only: the JSON API authenticates with bearer tokens.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 12 * 3600)
    Babel(app, locale_selector=select_locale)
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.extensions["page_error"] = page_error

    @app.context_processor
    def _page_globals():
        return {
            "current_locale": str(get_locale() or "zh"),
            "who": principal(),
        }

    # Globals (unlike context variables) are seen inside imported form macros too.
    app.jinja_env.globals.update(new_form_key=new_form_key, error_message=error_message, status_label=status_label)
    app.jinja_env.filters.setdefault("local_dt", _local_dt)
    app.jinja_env.filters.setdefault("hours", _hours)
    app.jinja_env.filters.setdefault("signed", lambda n: f"{n:+d}" if isinstance(n, int) else n)


def _local_dt(value: dt.datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    return format_datetime(value, fmt) if value else ""


def _hours(minutes: int | None) -> str:
    """Minutes shown as hours with one decimal (display only; amounts stay integer minutes)."""
    minutes = minutes or 0
    sign = "-" if minutes < 0 else ""
    whole, rest = divmod(abs(minutes), 60)
    return f"{sign}{whole}" if rest == 0 else f"{sign}{whole}.{rest * 10 // 60}"
