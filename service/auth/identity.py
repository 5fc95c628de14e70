"""Who a sign-in is for: the one normal form of a username, card code or phone number.

The look-up and every limit use the same normal form, so padding a card code with spaces, changing
its case or adding an unused field never earns a fresh limit. Rate-limit keys are keyed digests
(``GREENCOIN_PII_KEY``): no card code or phone number is ever kept in Redis or memory in clear.
"""

from __future__ import annotations

import re

from flask import request
from flask_limiter.util import get_remote_address

from ..privacy import keyed_digest

_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"^\+?\d{5,15}$")
MAX_TYPED = 64  # longer input is cut before normalising (a schema refuses it anyway)


def normalise_username(raw: str | None) -> str:
    return str(raw or "")[:MAX_TYPED].strip()


def normalise_card_code(raw: str | None) -> str:
    """The one form a card code is stored and matched in: whitespace and dashes dropped, upper
    case, O read as 0 and I/L as 1. Every look-up by card (counter, sign-in, desk, sign-in sheets)
    goes through here, so ``abcd efgh-jkmn-pqrs`` finds ``ABCD-EFGH-JKMN-PQRS``. Codes issued
    before the Crockford codes were rewritten to this form by migration 0016, so old printed cards
    (typed as printed, in any case) still match."""
    return "".join(str(raw or "").split()).replace("-", "").upper().translate(_CONFUSABLE)


def normalise_phone(raw: str | None) -> str | None:
    """Digits of a phone number without separators or the +86 / 0086 country code; None if the
    input is not a phone number."""
    value = _PHONE_SEPARATORS.sub("", str(raw or "")[:MAX_TYPED])
    if not _PHONE.match(value):
        return None
    value = value.lstrip("+")
    for prefix in ("0086", "86"):
        if value.startswith(prefix) and len(value) - len(prefix) == 11:
            return value[len(prefix) :]
    return value


def stored_phone_forms(phone: str) -> list[str]:
    """The forms a normalised phone may have been registered in."""
    return [phone, f"+86{phone}", f"86{phone}", f"0086{phone}"]


def resident_identity(*, card_code: str | None = None, phone: str | None = None) -> tuple[str, str] | None:
    """``("phone", digits)`` or ``("card", code)`` for what a resident typed, or None if empty."""
    if phone:
        return "phone", normalise_phone(phone) or _PHONE_SEPARATORS.sub("", str(phone)[:MAX_TYPED])
    if card_code:
        return "card", normalise_card_code(str(card_code)[:MAX_TYPED])
    return None


def typed_card_code(card_code: str | None) -> str:
    """The card code as typed, trimmed: matches codes issued before the normal form existed."""
    return str(card_code or "")[:MAX_TYPED].strip()


def typed_resident_identity(typed: str | None) -> tuple[str, str] | None:
    """One field "card code or phone number" (the sign-in page): a phone if it reads as one."""
    typed = str(typed or "")[:MAX_TYPED]
    if normalise_phone(typed):
        return resident_identity(phone=typed)
    return resident_identity(card_code=typed)


def identity_digest(kind: str, value: str) -> str:
    return keyed_digest(value, purpose=f"sign-in:{kind}")


def sign_in_limit_key() -> str:
    """The rate-limit key of a sign-in request: client address and the normalised identity."""
    body = request.get_json(silent=True) if request.is_json else None
    fields = body if isinstance(body, dict) else request.form
    if request.endpoint and request.endpoint.endswith(("StaffToken", "sign_in_staff")):
        who = ("staff", normalise_username(fields.get("username")))
    elif "identity" in fields:
        who = typed_resident_identity(fields.get("identity"))
    else:
        who = resident_identity(card_code=fields.get("card_code"), phone=fields.get("phone"))
    kind, value = who or ("none", "")
    return f"sign-in|{get_remote_address()}|{identity_digest(kind, str(value))}"


def sign_in_address_key() -> str:
    return f"sign-in-address|{get_remote_address()}"
