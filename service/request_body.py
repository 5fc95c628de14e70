"""What a client may send as a request body: a size limit, and JSON a strict client would write.

Python's parser accepts things no honest client sends and that break later code with a 500: a lone
surrogate escape (``"\\ud800"``, which no database can store), nesting deep enough to exhaust the
stack, and integer literals thousands of digits long (over Python's conversion limit). Every JSON
body, through webargs or ``request.get_json``, is parsed by ``strict_loads``, which refuses them as
a 400 ``invalid_json``. The size limit (``MAX_CONTENT_LENGTH``) is answered 413 before any parsing.
"""

from __future__ import annotations

import json
import re

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from .errors import BadRequest, DomainError

MAX_DEPTH = 32  # deeper than any request schema of the API
MAX_INTEGER_DIGITS = 40  # ids and amounts fit in 19; a longer literal is never a valid value
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(BadRequest, ValueError):
    """A DomainError for the API's handlers, and a ValueError so ``request.get_json`` sees a parse
    error (and ``silent=True`` still returns None)."""

    code = "invalid_json"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise InvalidJson(f"an integer in the body has more than {MAX_INTEGER_DIGITS} digits")
    return int(literal)


def _check_tree(value) -> None:
    """Depth and lone surrogates, walked with a stack (no recursion on hostile input)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidJson("the body contains a lone surrogate (invalid Unicode)")
            continue
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidJson(f"the body is nested more than {MAX_DEPTH} levels deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def strict_loads(data: str | bytes):
    """``json.loads`` that refuses what no strict client sends (see the module docstring)."""
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJson("the body is not UTF-8") from None
    try:
        value = json.loads(data, parse_int=_bounded_int)
    except RecursionError:
        raise InvalidJson(f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    _check_tree(value)
    return value


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        return strict_loads(s)


def init_app(app: Flask) -> None:
    app.json = StrictJSONProvider(app)

    @app.before_request
    def _refuse_large_bodies():
        """413 from the declared length, before authentication or parsing; a body sent without a
        length is cut at the same limit by werkzeug while it is read."""
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes", limit=limit)
