"""Shared set-up for the earning tests: a community with a station, its staff and a volunteer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ledger import Transaction
from service.extensions import db


@dataclass
class Desk:
    community: object
    station: object
    staff1: object
    staff2: object
    admin: object
    supervisor: object
    member: object


def build_desk(world, **settings) -> Desk:
    community = world.community(**settings)
    station = world.station(community)
    return Desk(
        community=community,
        station=station,
        staff1=world.staff("station_staff", community=community, station=station),
        staff2=world.staff("station_staff", community=community, station=station),
        admin=world.admin(community),
        supervisor=world.staff("supervisor", community=community),
        member=world.member(community),
    )


def at(days_ago: int, hour_utc: int, minute: int = 0) -> str:
    """An ISO time ``days_ago`` days back at a fixed UTC hour (01:00 UTC is 09:00 in Shanghai)."""
    day = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return day.replace(hour=hour_utc, minute=minute, second=0, microsecond=0).isoformat()


def record_body(desk: Desk, start: str, end: str, **extra) -> dict:
    body = {"station_id": desk.station.id, "volunteer_id": desk.member.id, "activity": "环境整治",
            "started_at": start, "ended_at": end}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def count(world, model, *conditions) -> int:
    def work(s):
        return s.scalar(select(func.count()).select_from(model).where(*conditions))

    with world.app.app_context():
        return work(db.session)


def transactions(world, kind: str | None = None) -> int:
    return count(world, Transaction, *([Transaction.kind == kind] if kind else []))
