"""Demo history of volunteer hours: activities, months of service records in every state."""

from __future__ import annotations

import datetime as dt

import ledger

from ..auth.access import Principal
from ..auth.models import Role
from ..auth.operations import principal_for_staff
from . import operations
from .models import Activity

ORDER = 10

ACTIVITIES = [
    ("环境整治", "Cleaning up the village"),
    ("助老送餐", "Meals for elders"),
    ("垃圾分类宣传", "Waste-sorting outreach"),
    ("义务巡逻", "Voluntary patrol"),
    ("文明交通劝导", "Traffic courtesy duty"),
    ("关爱留守儿童", "Caring for left-behind children"),
]


def city_admin(ctx) -> Principal:
    admin = next(s for s in ctx.staff["admin"] if s.community_id is None)
    return Principal(role=Role.ADMIN, staff_id=admin.id, name=admin.name)


def generate(ctx) -> None:
    session, rng = ctx.session, ctx.rng
    activities: dict[int, list[Activity]] = {}
    for station in ctx.stations:
        chosen = rng.sample(ACTIVITIES, 4)
        activities[station.id] = [
            Activity(community_id=station.community_id, station_id=station.id, name=name, name_en=name_en)
            for name, name_en in chosen
        ]
        session.add_all(activities[station.id])
    session.flush()

    checker = city_admin(ctx)
    days = max(ctx.months * 30, 30)
    for community in ctx.communities:
        staff = [principal_for_staff(s) for s in ctx.staff["station_staff"] if s.community_id == community.id]
        recorder, approver = staff[0], staff[1]
        admin = ctx.admin_principal(community.id)
        stations = [s for s in ctx.stations if s.community_id == community.id]
        members = [m for m in ctx.members if m.community_id == community.id]
        volunteers = rng.sample(members, max(2, len(members) // 5))
        made = []
        for member in volunteers:
            for days_ago in sorted(rng.sample(range(2, days), rng.randint(2, 6)), reverse=True):
                station = stations[0] if rng.random() < 0.7 else stations[1]
                by, check = (recorder, approver) if station is stations[0] else (admin, checker)
                start = (ctx.now - dt.timedelta(days=days_ago)).replace(
                    hour=rng.choice([0, 1, 2, 6, 7]), minute=rng.choice([0, 30]), second=0, microsecond=0
                )
                end = start + dt.timedelta(minutes=rng.choice([60, 90, 120, 150, 180, 240]))
                record = operations.create_service_record(
                    session, by, station_id=station.id, volunteer_id=member.id,
                    activity_id=rng.choice(activities[station.id]).id, started_at=start, ended_at=end,
                    evidence="签到表", now=end + dt.timedelta(hours=2),
                )
                made.append((record, check))
        for record, check in made:
            if ctx.now - record.ended_at < dt.timedelta(days=5) and rng.random() < 0.6:
                continue  # recent ones still wait for a second pair of eyes
            reviewed = record.ended_at + dt.timedelta(days=1)
            with ledger.posting_time(reviewed):
                operations.approve_service_record(session, check, record.id, now=reviewed)
        pending = [r for r, _ in made if r.status == "pending"]
        if pending:
            operations.reject_service_record(session, admin, pending[0].id, reason="签到表上无此人签名")
        approved = [r for r, _ in made if r.status == "approved"]
        duplicate = approved[len(approved) // 2]
        with ledger.posting_time(min(duplicate.ended_at + dt.timedelta(days=3), ctx.now)):
            operations.reverse_service_record(session, admin, duplicate.id, reason="重复登记，已在另一站点记录")
        late_member = rng.choice(volunteers)
        # 20:00 Shanghai: after every generated shift (they start by 15:30 and last at most 4 hours),
        # so it never overlaps one of the volunteer's own.
        late_start = (ctx.now - dt.timedelta(days=20)).replace(hour=12, minute=0, second=0, microsecond=0)
        operations.create_service_record(
            session, recorder, station_id=stations[0].id, volunteer_id=late_member.id,
            activity_id=activities[stations[0].id][0].id, started_at=late_start,
            ended_at=late_start + dt.timedelta(hours=2), evidence="补录：纸质签到表", now=ctx.now,
        )
