"""Masking of personal data for every response, page, export and log line that shows a person."""

from __future__ import annotations

import hashlib
import hmac
import re

NATIONAL_ID = re.compile(r"^\d{17}[\dX]$")


def mask_name(name: str) -> str:
    """张三丰 -> 张*丰, 张三 -> 张*, as on public notice boards."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def normalise_national_id(raw: str) -> str:
    value = (raw or "").strip().upper()
    if not NATIONAL_ID.match(value):
        raise ValueError("a national ID number is 17 digits followed by a digit or X")
    return value


def mask_national_id(value: str) -> str:
    """5301**********1234: the only form a national ID number ever leaves the database in."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def national_id_digest(value: str, secret_key: str) -> str:
    """Keyed digest: finds duplicates without storing the number itself (it is never stored)."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()
