"""Mainland mobile numbers (手机号): 11 digits, ``1`` then ``3``–``9``. One rule for the API schema and
the desk's page (its ``pattern`` attribute is ``MOBILE_PATTERN``)."""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields

MOBILE_PATTERN = r"1[3-9][0-9]{9}"
MOBILE_ERROR = "a mainland mobile number: 11 digits starting with 13 to 19"
_MOBILE = re.compile(MOBILE_PATTERN)
_SEPARATORS = re.compile(r"[\s\-]")


def normalise_mobile(raw: str) -> str:
    """Spaces and dashes dropped (``138 1234-5678``), and a ``+86`` / ``0086`` country prefix."""
    digits = _SEPARATORS.sub("", raw)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
    return digits


def is_mobile(raw: str) -> bool:
    return _MOBILE.fullmatch(normalise_mobile(raw)) is not None


class MainlandMobile(fields.String):
    """A mainland mobile number, stored as its 11 digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault(
            "description", "a mainland mobile number: 11 digits, 13x to 19x (spaces, dashes and +86 are dropped)"
        )
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        number = normalise_mobile(text)
        if len(text) > 30 or _MOBILE.fullmatch(number) is None:
            raise ValidationError(MOBILE_ERROR)
        return number
