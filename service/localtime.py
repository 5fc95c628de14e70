"""Local time, in one place: times are stored in UTC; business dates, months and what people read
are in the configured zone (``GREENCOIN_TIMEZONE``, default Asia/Shanghai).

Every function takes the zone's name; without one it uses the running app's zone, read once from
its ``TIMEZONE`` setting (``service.config`` reads the environment) when the app is built, so a
wrong name stops the start; outside an app the default. Jobs pass the name they were given;
request code leaves it out.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_app_context

from ledger.models import utcnow

from .errors import Invalid

DEFAULT_TIMEZONE = "Asia/Shanghai"


def init_app(app: Flask) -> None:
    app.extensions["localtime"] = ZoneInfo(app.config["TIMEZONE"])


def zone(timezone: str | None = None) -> ZoneInfo:
    if timezone is not None:
        return ZoneInfo(timezone)  # ZoneInfo keeps one instance per name
    return current_app.extensions["localtime"] if has_app_context() else ZoneInfo(DEFAULT_TIMEZONE)


def local(moment: dt.datetime, timezone: str | None = None) -> dt.datetime:
    """A UTC instant in local time (what a receipt or a page shows)."""
    return moment.astimezone(zone(timezone))


def date_of(moment: dt.datetime, timezone: str | None = None) -> dt.date:
    """The local date of a UTC instant."""
    return moment.astimezone(zone(timezone)).date()


def today(timezone: str | None = None, now: dt.datetime | None = None) -> dt.date:
    return date_of(now or utcnow(), timezone)


def this_month(timezone: str | None = None) -> str:
    """The local month now, ``YYYY-MM``."""
    return today(timezone).strftime("%Y-%m")


def midnight_utc(day: dt.date, timezone: str | None = None) -> dt.datetime:
    """The UTC instant a local business date starts."""
    return dt.datetime.combine(day, dt.time(), zone(timezone)).astimezone(dt.UTC)


def as_utc(value: dt.datetime, timezone: str | None = None) -> dt.datetime:
    """A time as UTC; one without a zone is local (a station's sign-in sheet is written in local time)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(timezone))
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01 local is before year 1 in UTC
        raise Invalid("the time is out of range", code="time_out_of_range", time=value.isoformat()) from None
