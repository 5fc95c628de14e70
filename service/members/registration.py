"""Registration's domain checks, all at once: the desk shows every problem of a form in one answer
(the household, the national ID number, the birth date) instead of one per submit. The rules are
``members.operations``' own; ``register_member`` still enforces them on its own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ..errors import DomainError, NotFound
from .operations import check_birth_date, get_household, protect_national_id


def registration_problems(
    session: Session,
    *,
    community_id: int,
    national_id: str | None = None,
    birth_date: dt.date | None = None,
    household_id: int | None = None,
) -> dict[str, str]:
    """Each field that breaks a registration rule, with the rule's error code."""
    problems: dict[str, str] = {}

    def check(name: str, rule) -> None:
        try:
            rule()
        except DomainError as exc:
            problems[name] = exc.code

    if household_id is not None:
        def household_here():
            try:
                household = get_household(session, household_id)
            except NotFound:
                raise DomainError("no such household", code="household_not_found") from None
            if household.community_id != community_id:
                raise DomainError("the household belongs to another community", code="household_other_community")

        check("household_id", household_here)
    if national_id:
        check("national_id", lambda: protect_national_id(session, national_id))
    if birth_date is not None:
        check("birth_date", lambda: check_birth_date(birth_date))
    return problems
