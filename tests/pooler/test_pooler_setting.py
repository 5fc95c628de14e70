"""``GREENCOIN_DATABASE_POOLER``: read once, checked, and it turns server-side prepared statements off."""

from __future__ import annotations

import pytest

import ledger
from service.config import settings_from_env


@pytest.mark.parametrize(("raw", "expected"), [("", "none"), ("transaction", "transaction"),
                                               (" Transaction ", "transaction"), ("session", "session")])
def test_the_setting_is_read_from_the_environment(tmp_path, raw, expected):
    env = {"GREENCOIN_DATABASE_POOLER": raw} if raw else {}
    assert settings_from_env(str(tmp_path), env)["DATABASE_POOLER"] == expected


def test_an_unknown_pooler_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="GREENCOIN_DATABASE_POOLER"):
        settings_from_env(str(tmp_path), {"GREENCOIN_DATABASE_POOLER": "statement"})
    with pytest.raises(ValueError, match="pooler"):
        ledger.make_engine("postgresql+psycopg://postgres@127.0.0.1/x", pooler="statement")


@pytest.mark.postgres
def test_transaction_pooling_turns_off_server_side_prepared_statements(pg_url):
    def threshold(**kwargs):
        engine = ledger.make_engine(pg_url, **kwargs)
        with engine.connect() as connection:
            value = connection.connection.driver_connection.prepare_threshold
        engine.dispose()
        return value

    assert threshold(pooler="transaction") is None
    assert threshold() == threshold(pooler="session") == 5  # psycopg's default
