"""Member card codes: printed in an alphabet a person can type, matched however they are typed.

Schemas, operations and the counter import this one definition. The normal form a code is matched
in is sign-in's (``service.auth.identity.normalise_card_code``, re-exported here): auth sits below
members and reads what a resident types without importing them.
"""

from __future__ import annotations

import secrets

from marshmallow import ValidationError, fields

from ..auth.identity import normalise_card_code

# Crockford's base32: digits and capitals without I, L, O, U, so a code read aloud or typed from a
# printed card has no 0/O or 1/I/l confusion.
CARD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CARD_LENGTH = 16  # 16 × 5 = 80 random bits
MAX_TYPED = 64  # what a form or request may send, separators included


def new_card_code(randbits=secrets.randbits) -> str:
    """Random and unguessable (80 bits) in Crockford base32; stored without separators, printed in
    groups (``format_card_code``) and as a QR code."""
    value = randbits(5 * CARD_LENGTH)
    return "".join(CARD_ALPHABET[(value >> (5 * i)) & 31] for i in range(CARD_LENGTH))


def format_card_code(code: str | None) -> str:
    """``ABCDEFGHJKMNPQRS`` -> ``ABCD-EFGH-JKMN-PQRS``, as printed on the card."""
    code = code or ""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def card_ending(code: str | None) -> str:
    """The last four characters, to tell a resident's cards apart in the audit log."""
    return (code or "")[-4:]


class CardCode(fields.String):
    """A card code as typed or scanned; loads as its normalised form."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > MAX_TYPED:
            raise ValidationError(f"at most {MAX_TYPED} characters")
        code = normalise_card_code(raw)
        if not code or len(code) > 32:
            raise ValidationError("not a card code")
        return code
