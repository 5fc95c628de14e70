"""Wires the pages into the app (discovered by ``service.domains``): Babel, CSRF, the blueprint."""

from __future__ import annotations

import datetime as dt
import importlib

from flask import Flask, request, session
from flask_babel import Babel, format_datetime, get_locale

from .core import LANGUAGES, bp, csrf, error_message, page_error, principal, status_label
from .forms import new_form_key

# The pages, by audience: anyone (public), the resident (me), the station desk, the counter, the office.
PAGE_MODULES = (
    "public.auth", "public.certificates", "public.proofs",
    "me.home", "me.statement", "me.card", "me.family", "me.certificates", "me.disputes", "me.reservations",
    "desk.members", "desk.accounts", "desk.hours", "desk.sheets", "desk.roster", "desk.review", "desk.conduct",
    "desk.disputes",
    "counter.basket", "counter.refunds", "counter.shift", "counter.pickup",
    "office.community", "office.catalogue", "office.disclosure", "office.checks", "office.records", "office.households",
    "office.audit", "office.shelf", "office.oversight",
)


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
    for name in PAGE_MODULES:
        importlib.import_module(f"{__package__}.{name}")
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
