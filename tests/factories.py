"""Test data factories and an API caller that signs in as a given user."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

import ledger
from ledger import Unit
from service.auth.operations import create_staff
from service.community.models import Community, Station, Supermarket
from service.community.operations import (
    create_station,
    create_supermarket,
    issuance_account,
)
from service.extensions import db
from service.flows import open_community
from service.members.models import Household, Member
from service.members.operations import household_wallet, member_wallet, register_household, register_member

PASSWORD = "correct-horse-9"
PIN = "246810"
T = TypeVar("T")
_counter = itertools.count(1)


@dataclass
class Caller:
    """Calls the API as one user; adds the bearer token and a fresh Idempotency-Key to writes."""

    client: FlaskClient
    token: str
    id: int
    username: str = ""

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def _write(self, method: str, path: str, key: str | None, kwargs):
        headers = {**self.headers, "Idempotency-Key": key or uuid.uuid4().hex, **kwargs.pop("headers", {})}
        return getattr(self.client, method)(path, headers=headers, **kwargs)

    def post(self, path: str, json=None, *, key: str | None = None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        return self._write("post", path, key, kwargs)

    def patch(self, path: str, json=None, *, key: str | None = None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        return self._write("patch", path, key, kwargs)

    def put(self, path: str, json=None, *, key: str | None = None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        return self._write("put", path, key, kwargs)

    def delete(self, path: str, *, key: str | None = None, **kwargs):
        return self._write("delete", path, key, kwargs)


class World:
    """Builds communities, places, staff and residents directly through the operations."""

    def __init__(self, app: Flask):
        self.app = app
        self.client = app.test_client()

    def _run(self, work):
        with self.app.app_context():
            return db.run(work)

    def statements_of(self, request: Callable[[], T]) -> tuple[T, int]:
        """What ``request()`` returns and how many statements the app sent to the database meanwhile
        (tests that a page reads a fixed number of times however many items it shows)."""
        with self.app.app_context():
            engine = db.engine
        sent = []

        def count(*_args):
            sent.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            return request(), len(sent)
        finally:
            event.remove(engine, "before_cursor_execute", count)

    def community(self, **settings) -> Community:
        n = next(_counter)
        settings.setdefault("code", f"C{n}")
        settings.setdefault("name", f"测试社区{n}")
        return self._run(lambda s: open_community(s, **settings))

    def station(self, community: Community, **kwargs) -> Station:
        n = next(_counter)
        return self._run(
            lambda s: create_station(s, community_id=community.id, code=f"S{n}", name=f"服务站{n}", **kwargs)
        )

    def supermarket(self, community: Community, **kwargs) -> Supermarket:
        n = next(_counter)
        return self._run(
            lambda s: create_supermarket(s, community_id=community.id, code=f"M{n}", name=f"爱心超市{n}", **kwargs)
        )

    def staff(self, role: str, *, community=None, station=None, supermarket=None) -> Caller:
        """Create a staff member and sign in through the API."""
        username = f"{role}-{next(_counter)}"
        staff = self._run(
            lambda s: create_staff(
                s,
                username=username,
                password=PASSWORD,
                name=f"员工{username}",
                role=role,
                community_id=community.id if community else None,
                station_id=station.id if station else None,
                supermarket_id=supermarket.id if supermarket else None,
            )
        )
        response = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.json
        return Caller(self.client, response.json["token"], staff.id, username)

    def admin(self, community: Community | None = None) -> Caller:
        return self.staff("admin", community=community)

    def household(self, community: Community, name: str = "测试户") -> Household:
        return self._run(lambda s: register_household(s, community_id=community.id, name=name))

    def member(self, community: Community, *, name: str = "张三丰", household=None, **kwargs) -> Member:
        kwargs.setdefault("pin", PIN)
        return self._run(
            lambda s: register_member(
                s, community_id=community.id, name=name, household_id=household.id if household else None, **kwargs
            )
        )

    def resident(self, member: Member) -> Caller:
        response = self.client.post("/api/v1/auth/resident-token", json={"card_code": member.card_code, "pin": PIN})
        assert response.status_code == 201, response.json
        return Caller(self.client, response.json["token"], member.id)

    def credit(self, owner: Member | Household, amount: int, unit: Unit = Unit.COIN) -> None:
        """Give a wallet an opening balance straight through the ledger."""

        def work(s):
            wallet = household_wallet(s, owner) if isinstance(owner, Household) else member_wallet(s, owner, unit)
            source = issuance_account(s, owner.community_id, unit)
            ledger.post(
                s,
                lines=[ledger.Line(wallet.id, amount), ledger.Line(source.id, -amount)],
                idempotency_key=f"test-credit:{uuid.uuid4().hex}",
                kind="opening_balance",
                community_id=owner.community_id,
            )

        self._run(work)

    def balance(self, owner: Member | Household, unit: Unit = Unit.COIN) -> int:
        def work(s):
            wallet = household_wallet(s, owner) if isinstance(owner, Household) else member_wallet(s, owner, unit)
            return ledger.balance(s, wallet.id)

        return self._run(work)

    def invariants(self) -> dict:
        """Every ledger invariant, as {check: [discrepancies]}; all lists empty when the book is sound."""
        from ledger.verify import verify_all

        def work(s):
            ledger.seal(s)
            return {k: v for k, v in verify_all(s).items() if v}

        return self._run(work)
