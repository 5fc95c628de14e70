"""Shared marshmallow pieces: strict integers for money, strict booleans, "exactly one of" rules,
the error body, pagination."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

MAX_COINS = 1_000_000  # per single posting through the API; far above any real award or basket
MAX_MINUTES = 100_000 * 60


def coins(**kwargs) -> fields.Integer:
    """Whole coins: JSON integers only (no 1.5, "3", NaN or true), bounded."""
    kwargs.setdefault("validate", validate.Range(min=1, max=MAX_COINS))
    return fields.Integer(strict=True, **kwargs)


def signed_coins(**kwargs) -> fields.Integer:
    rule = validate.And(
        validate.Range(min=-MAX_COINS, max=MAX_COINS),
        validate.NoneOf([0], error="must not be zero"),
    )
    return fields.Integer(strict=True, validate=rule, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only.

    marshmallow's Boolean also takes 1, 0, "yes", "on", "true" … and even ``1 in {True}`` holds in
    Python, so its truthy/falsy sets cannot say "a real boolean": the document says ``boolean``
    and a body with ``"active": 0`` must be a 422, not a silent ``false``.
    """

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


def flag(**kwargs) -> StrictBoolean:
    """A yes/no field in a JSON body (or response). Query strings use ``fields.Boolean``: text."""
    return StrictBoolean(**kwargs)


def exactly_one_of(*names: str, message: str, field_name: str = "_schema"):
    """A schema rule: exactly one of ``names`` is given (and not null). Assign it in the class body
    (``_one_key = exactly_one_of("sku", "product_id", message=...)``); the OpenAPI document states
    it as ``oneOf`` of ``required`` (service/openapi.py reads ``exactly_one_of`` off the rule)."""

    def rule(self, data, **_kwargs):
        if sum(data.get(name) is not None for name in names) != 1:
            raise ValidationError(message, field_name)

    rule.exactly_one_of = names
    return validates_schema(rule)


def exactly_one_groups(schema_class) -> list[tuple[str, ...]]:
    """The ``exactly_one_of`` rules of a schema class (inherited ones too), in a stable order."""
    groups = {getattr(getattr(schema_class, attr, None), "exactly_one_of", None) for attr in dir(schema_class)}
    return sorted(group for group in groups if group)


def text(max_length: int, *, required: bool = True, min_length: int = 1, **kwargs) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=min_length, max=max_length), **kwargs)


def ref_id(**kwargs) -> fields.Integer:
    """A row id in a request: a positive JSON integer."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=2**62), **kwargs)


from .errors import ApiErrorSchema as ErrorSchema  # noqa: E402,F401  (re-exported for alt_response)


def query_id(**kwargs) -> fields.Integer:
    """A row id in a query string (not strict: query values arrive as text)."""
    return fields.Integer(validate=validate.Range(min=1, max=2**62), **kwargs)


class PageQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**62))
