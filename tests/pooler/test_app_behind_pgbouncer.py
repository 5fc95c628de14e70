"""The app, its money paths and its migrations, through PgBouncer in transaction mode
(``GREENCOIN_DATABASE_POOLER=transaction``): real threads, so transactions of one client connection
land on different server connections."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select

import ledger
from service.market.models import Redemption
from tests.service.market.conftest import Shop
from tests.service.market.test_concurrency import _race, race_for_the_last_coins

pytestmark = pytest.mark.postgres
THREADS = 20


def _sound(shop: Shop) -> None:
    assert shop.world.invariants() == {}
    assert shop.market_sound() == []


def test_migrations_run_through_pgbouncer(pgbouncer, pg_database):
    from service.migrate import downgrade, upgrade

    name = f"greencoin_pooler_{pgbouncer}"
    admin_dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{pgbouncer}/{name}"
        upgrade(url)
        downgrade(url, "-1")
        upgrade(url)
        engine = ledger.make_engine(url, pooler="transaction")
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(ledger.Transaction)) == 0
        engine.dispose()
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_basket_and_balance_reads_repeated_beyond_the_prepare_threshold(shop):
    """psycopg prepares a statement on its 5th run on a connection: the 6th may land on a server
    connection that never saw it."""
    shop.add_product("RICE", 3, 100)
    shop.world.credit(shop.member, 100)
    for n in range(12):
        response = shop.basket(("RICE", 1), key=f"basket-{n}")
        assert response.status_code == 201, response.get_json()
        balance = shop.admin.get(f"/api/v1/members/{shop.member.id}/balance")
        assert balance.status_code == 200, balance.get_json()
        assert balance.json["coins"] == 100 - 3 * (n + 1), balance.json
    _sound(shop)


def test_twenty_baskets_on_one_wallet_never_overdraw_or_lose_a_coin(pooled_app, shop):
    race_for_the_last_coins(pooled_app, shop)
    _sound(shop)


def test_one_idempotency_key_sent_by_twenty_threads_makes_one_basket(pooled_app, shop):
    shop.add_product("OIL", 7, 100)
    shop.world.credit(shop.member, 100)
    body = {"supermarket_id": shop.supermarket.id, "member_id": shop.member.id,
            "lines": [{"sku": "OIL", "quantity": 2}]}
    results = _race(pooled_app, shop.cashier, [("/api/v1/redemptions", body, "same-key")] * THREADS)
    assert {status for status, _ in results} == {201}, results
    assert len({b["id"] for _, b in results}) == 1
    assert shop.world.balance(shop.member) == 86 and shop.stock("OIL") == 98
    assert shop.world._run(lambda s: s.scalar(select(func.count()).select_from(Redemption))) == 1
    _sound(shop)
