"""Personal data: the key that protects it, keyed digests, and the masks every response, page,
export and log line uses when it shows a person.

National ID numbers, phones, card codes, PINs and passwords are *personal fields*. Nothing derived
from them is ever stored or hashed without ``PII_KEY`` (``GREENCOIN_PII_KEY``), a key of its own,
separate from ``SECRET_KEY`` (which signs sessions). The national ID number itself is never stored:
only its keyed digest (to find duplicates and check an ID card at the desk) and a mask with at most
the last four characters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from flask import current_app

NATIONAL_ID = re.compile(r"^\d{17}[\dX]$")

# Request fields that carry personal data: replaced by their keyed digest before a request body is
# hashed for idempotency, never logged.
PERSONAL_FIELDS = frozenset(
    {"national_id", "phone", "card_code", "pin", "new_pin", "initial_pin", "password", "new_password", "token"}
)


def pii_key() -> bytes:
    """The key for personal data of the running app (checked at start-up, see ``config.check_keys``)."""
    return current_app.config["PII_KEY"].encode()


def keyed_digest(value: str, *, purpose: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``value`` under the personal-data key, separated by purpose."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(key or pii_key(), message, hashlib.sha256).hexdigest()


def redact_personal(value):
    """A copy of a request body with every personal field replaced by its keyed digest."""
    if isinstance(value, Mapping):
        return {
            k: (
                None
                if v is None
                else keyed_digest(str(v), purpose=f"field:{k}")
                if k in PERSONAL_FIELDS
                else redact_personal(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_personal(v) for v in value]
    return value


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
    """``**************123X``: the last four characters only, the one form the number is kept in
    besides its keyed digest. Never shown beside a full birth date (with the birth date and the
    region code the last four would give the whole number)."""
    return "*" * (len(value) - 4) + value[-4:]


def national_id_digest(value: str, key: str | None = None) -> str:
    """Keyed digest of a normalised national ID number: finds duplicates and checks an ID card
    without storing the number. Plain HMAC-SHA256(PII_KEY, number), as before 0008 with SECRET_KEY,
    so a deployment can carry its old digests over by setting GREENCOIN_PII_KEY to the old
    SECRET_KEY and choosing a new SECRET_KEY."""
    return hmac.new(key.encode() if key else pii_key(), value.encode(), hashlib.sha256).hexdigest()
