"""The resident's own pages (居民): coins, hours, star progress, monthly hours, coins due to expire,
the statement, and the catalogue of their community's supermarkets."""

from __future__ import annotations

import datetime as dt

from flask import current_app, render_template

from ledger import Unit

from ... import localtime
from ...auth.access import access
from ...auth.models import Role
from ...bookkeeping.expiry import expiring_soon
from ...community.operations import get_community
from ...extensions import db
from ...market import operations as market
from ...members.operations import (
    get_member,
    member_balance,
    member_wallet,
)
from ...members.stars import lifetime_credits_since
from ..core import bp, principal


def coins_due_to_expire(session, member) -> dict | None:
    """Coins that the annual clearing (年度清零) takes soon unless spent (None when nothing is due)."""
    due = expiring_soon(session, member, localtime.today())
    if not due["expires_on"] or not (due["coins"] or due["household_coins"]):
        return None
    return due


def catalogue_for_community(session, principal) -> list[dict]:
    """The market's catalogue for the person's community, grouped by supermarket."""
    shops: dict[int, dict] = {}
    for item in market.catalogue(session, principal, supermarket_id=None):
        shop = shops.setdefault(item["supermarket_id"], {"name": item["supermarket_name"], "products": []})
        shop["products"].append(item)
    return list(shops.values())


def _me():
    return get_member(db.session, principal().member_id)


def star_progress(lifetime_minutes: int, star: int) -> dict:
    """Where the resident stands between their star and the next (thresholds from the settings)."""
    thresholds = current_app.config["STAR_THRESHOLDS_HOURS"]
    if star >= len(thresholds):
        return {"next_star": None, "percent": 100, "minutes_to_go": 0}
    low = thresholds[star - 1] * 60 if star else 0
    high = thresholds[star] * 60
    percent = max(0, min(100, (lifetime_minutes - low) * 100 // (high - low)))
    return {"next_star": star + 1, "percent": percent, "minutes_to_go": high - lifetime_minutes}


def _month_start(day: dt.date, back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def monthly_hours(session, member, *, months: int = 12, today: dt.date | None = None) -> list[dict]:
    """Volunteer minutes credited per month (local time) for the last ``months`` months, oldest first.
    Counts the same ledger kinds as lifetime hours, so reversals show in their month."""
    zone = localtime.zone()
    today = today or dt.datetime.now(zone).date()
    first = _month_start(today, months - 1)
    since = dt.datetime(first.year, first.month, 1, tzinfo=zone).astimezone(dt.UTC)
    rows = lifetime_credits_since(session, member_wallet(session, member, Unit.HOUR).id, since)
    buckets = {_month_start(today, back): 0 for back in range(months)}
    for amount, created_at in rows:
        local = created_at.astimezone(zone).date().replace(day=1)
        if local in buckets:
            buckets[local] += amount
    top = max([v for v in buckets.values()] + [1])
    return [
        {"month": month, "minutes": minutes, "percent": max(0, minutes) * 100 // top}
        for month, minutes in sorted(buckets.items())
    ]


@bp.get("/me")
@access(Role.RESIDENT)
def resident_home():
    member = _me()
    session = db.session
    balance = member_balance(session, member)
    return render_template(
        "resident/home.html",
        member=member,
        community=get_community(session, member.community_id),
        balance=balance,
        progress=star_progress(balance["lifetime_hours_minutes"], balance["star"]),
        months=monthly_hours(session, member),
        expiring=coins_due_to_expire(session, member),
    )


@bp.get("/me/catalogue")
@access(Role.RESIDENT)
def resident_catalogue():
    return render_template("resident/catalogue.html", shops=catalogue_for_community(db.session, principal()))
