"""Reads from the domain packages that other parts of the service add (market, jobs …).

Each helper returns ``None`` when its domain is not installed, so a page can say the part is not
available instead of failing; the rules stay in the domains' own operations.
"""

from __future__ import annotations

import datetime as dt
import importlib
from types import ModuleType
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.orm import Session

from ..community.operations import get_community


def domain(name: str, module: str = "operations") -> ModuleType | None:
    try:
        return importlib.import_module(f"service.{name}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"service.{name}"):
            return None
        raise


def next_expiry_date(month_day: str | None, today: dt.date) -> dt.date | None:
    if not month_day:
        return None
    month, day = (int(p) for p in month_day.split("-"))
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:  # 02-29 in a common year
            candidate = dt.date(year, month, 28)
        if candidate >= today:
            return candidate
    return None


def coins_due_to_expire(session: Session, member, coins: int) -> dict | None:
    """The next annual clearing (年度清零) date of the community and the coins it would take."""
    community = get_community(session, member.community_id)
    today = dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    date = next_expiry_date(community.coin_expiry_month_day, today)
    if date is None:
        return None
    return {"date": date, "coins": coins}


def catalogue_for_community(session: Session, principal) -> list[dict] | None:
    """The market's catalogue for the person's community, grouped by supermarket (None without the
    market domain)."""
    market = domain("market")
    if market is None:
        return None
    shops: dict[int, dict] = {}
    for item in market.catalogue(session, principal, supermarket_id=None):
        shop = shops.setdefault(item["supermarket_id"], {"name": item["supermarket_name"], "products": []})
        shop["products"].append(item)
    return list(shops.values())
