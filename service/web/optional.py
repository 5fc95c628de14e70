"""Reads from the domain packages that other parts of the service add (market, jobs …).

Each helper returns ``None`` when its domain is not installed, so a page can say the part is not
available instead of failing; the rules stay in the domains' own operations.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from flask import current_app
from sqlalchemy.orm import Session


def domain(name: str, module: str = "operations") -> ModuleType | None:
    try:
        return importlib.import_module(f"service.{name}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"service.{name}"):
            return None
        raise


def coins_due_to_expire(session: Session, member) -> dict | None:
    """Coins that the annual clearing (年度清零) takes soon unless spent, as the jobs domain says."""
    jobs = domain("jobs", "expiry")
    if jobs is None:
        return None
    from ..jobs.runs import local_today

    due = jobs.expiring_soon(session, member, local_today(current_app.config["TIMEZONE"]))
    if not due["expires_on"] or not (due["coins"] or due["household_coins"]):
        return None
    return due


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
