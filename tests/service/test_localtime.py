"""Local time is read once from the app's ``TIMEZONE`` (``GREENCOIN_TIMEZONE``), everywhere."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfoNotFoundError

import pytest

from service import create_app, localtime
from service.market.schemas import CloseOutQuerySchema

SETTINGS = {"DATABASE_URL": "sqlite://", "TESTING": True, "SECRET_KEY": "test-secret", "REDIS_URL": None}


def _start_of_period(timezone: str) -> dt.datetime:
    app = create_app({**SETTINGS, "TIMEZONE": timezone})
    with app.app_context():
        return CloseOutQuerySchema().load({"start": "2026-01-01T08:00:00"})["start"]


def test_a_period_without_an_offset_is_read_in_the_configured_zone():
    assert _start_of_period("UTC").astimezone(dt.UTC) == dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
    assert _start_of_period("Asia/Shanghai").astimezone(dt.UTC) == dt.datetime(2026, 1, 1, 0, tzinfo=dt.UTC)


def test_the_zone_is_the_apps_and_a_wrong_name_stops_the_start():
    app = create_app({**SETTINGS, "TIMEZONE": "Europe/Berlin"})
    with app.app_context():
        assert str(localtime.zone()) == "Europe/Berlin"
        assert localtime.local(dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)).hour == 14
    assert str(localtime.zone()) == localtime.DEFAULT_TIMEZONE  # outside an app
    with pytest.raises(ZoneInfoNotFoundError):
        create_app({**SETTINGS, "TIMEZONE": "Mars/Olympus_Mons"})
