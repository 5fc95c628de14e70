"""The API blueprint every domain uses: flask-smorest's, with a request parser that refuses NUL
and parses JSON bodies strictly (``service.request_body``).

PostgreSQL cannot store a NUL character in text, so one in any argument (JSON body, query string,
form) would surface as a database error; the parser answers 422 before the view runs instead.
"""

from __future__ import annotations

import flask_smorest
from marshmallow import ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from .request_body import strict_loads


def find_nul(value, path: str = "") -> str | None:
    """The path of the first string containing a NUL character inside ``value``, or None."""
    if isinstance(value, str):
        return path or "_" if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    elif hasattr(value, "items") and hasattr(value, "getlist"):  # werkzeug MultiDict (query, form)
        items = ((k, v) for k in value for v in value.getlist(k))
    else:
        return None
    for key, item in items:
        found = find_nul(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


class RequestParser(FlaskParser):
    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        body = req.get_data(cache=True)
        return strict_loads(body) if body else core.missing

    def _load_location_data(self, *, schema, req, location):
        data = super()._load_location_data(schema=schema, req=req, location=location)
        where = find_nul(data)
        if where:
            raise ValidationError({where: ["must not contain a NUL character"]})
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = RequestParser()
