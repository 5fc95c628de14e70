"""The OpenAPI document, made to tell the truth about what the server does.

flask-smorest builds each operation from the marshmallow schemas that validate it; this module adds
what it cannot see, derived from the same code so the two cannot drift:

- who may call (the view's ``@access``/``@public`` declaration): public operations carry
  ``security: []``; the others declare 401 and 403;
- the error statuses each operation can answer (per status, with the error schema whose ``code``
  and ``message`` are required) instead of one catch-all ``default``;
- ``Idempotent-Replayed`` on the success response of every operation that takes ``Idempotency-Key``;
- the media type of CSV and HTML responses; a JSON body is required only if its schema requires
  a field (the server reads a missing body as ``{}``);
- path patterns from the URL converters that route the request (``{month}``, ``{number}``);
- a body's "exactly one of" rules as ``oneOf`` (``service.schemas.exactly_one_of``);
- stable ``operationId``s and OpenAPI links from a created resource to what can follow it;
- ``/healthz``, ``/readyz`` and ``/metrics``.
"""

from __future__ import annotations

import re

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from werkzeug.routing import BaseConverter

from .auth.access import ACCESS_ATTR, PUBLIC
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .schemas import exactly_one_groups

# --- path converters: the regex routes the request and is the documented pattern ----------------


class MonthConverter(BaseConverter):
    """``YYYY-MM``, years 2000 to 2999 (a disclosure month); anything else matches no route (404)."""

    regex = r"2[0-9]{3}-(?:0[1-9]|1[0-2])"


class CertificateNumberConverter(BaseConverter):
    """A certificate number as ``new_certificate_number`` makes them (``GC20261103-1A2B3C4D5E``)."""

    regex = r"[A-Za-z0-9-]{1,32}"


CONVERTERS = {"month": MonthConverter, "certificate_number": CertificateNumberConverter}


def _pattern_schema(converter: BaseConverter) -> dict:
    return {"type": "string", "pattern": f"^{converter.regex}$"}


# --- error responses -------------------------------------------------------------------------

ERROR_RESPONSES = {
    400: ("BadRequest", "Malformed request: JSON that does not parse, a missing or invalid Idempotency-Key"),
    401: ("Unauthorized", "No bearer token, or it is invalid, expired or of a deactivated account"),
    403: ("Forbidden", "The caller's role may not do this, or not for this station or supermarket"),
    404: ("NotFound", "No such resource in the caller's scope (another community's data is reported as 404)"),
    409: ("Conflict", "The request conflicts with the current state (insufficient balance, already done, "
                      "Idempotency-Key reused with another body …)"),
    413: ("PayloadTooLarge", "The body is too large"),
    415: ("UnsupportedMediaType", "The body is not of a media type this operation takes"),
    422: ("UnprocessableEntity", "The input breaks a validation or domain rule; details.fields names the fields"),
    429: ("TooManyRequests", "Too many failed sign-ins from this address for this account; retry later"),
    503: ("ServiceUnavailable", "The database is unreachable; retry with the same Idempotency-Key"),
}
WRITES = {"post", "put", "patch", "delete"}
# Statuses the rules above cannot see: sign-in answers 401 for bad credentials and 429 when limited.
EXTRA_STATUSES = {"postStaffToken": {401, 429}, "postResidentToken": {401, 429}}
REQUEST_ID_HEADER = {
    "description": "The request id (sent by the client or made by the server); also in logs and error bodies",
    "schema": {"type": "string"},
}


def _operation_id(endpoint: str, method: str) -> str:
    name = endpoint.rsplit(".", 1)[-1]
    name = re.sub(r"_([a-z])", lambda m: m[1].upper(), name)
    return method + name[0].upper() + name[1:]


def _view_method(app: Flask, endpoint: str, method: str):
    view = app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    return getattr(view_class, method, None) if view_class else view


def _declared_content_types(function) -> dict[str, str]:
    """status -> media type declared with ``@blp.response(..., content_type=...)`` (flask-smorest
    drops the media type from the document when no schema is given)."""
    responses = getattr(function, "_apidoc", {}).get("response", {}).get("responses", {})
    found = {}
    for status, entries in responses.items():
        for entry in entries:
            if isinstance(entry, dict) and entry.get("content_type"):
                found[str(status)] = entry["content_type"]
    return found


class ContractPlugin(BasePlugin):
    """Adds access, errors, headers, media types and links to every API operation."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app
        self.spec = None

    def init_spec(self, spec):
        super().init_spec(spec)
        self.spec = spec

    def schema_helper(self, name, definition, **kwargs):
        """A body schema's "exactly one of" rules (``service.schemas.exactly_one_of``) as ``oneOf``."""
        schema = kwargs.get("schema")
        groups = exactly_one_groups(resolve_schema_cls(schema)) if schema is not None else []
        rules = [{"oneOf": [{"required": [field]} for field in group]} for group in groups]
        if len(rules) > 1:
            return {"allOf": rules}
        return rules[0] if rules else None

    def _schema_requires_fields(self, schema) -> bool:
        if isinstance(schema, dict) and "$ref" in schema:
            schema = schema["$ref"].rsplit("/", 1)[-1]
        if isinstance(schema, str):
            schema = self.spec.components.schemas.get(schema, {})
        return bool(isinstance(schema, dict) and schema.get("required"))

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or operations is None or not rule.rule.startswith("/api/"):
            return
        has_path_params = bool(rule.arguments)
        for method, operation in operations.items():
            function = _view_method(self.app, rule.endpoint, method)
            if function is None:
                continue
            operation.setdefault("operationId", _operation_id(rule.endpoint, method))
            # flask-smorest's catch-all "default" would make every status "documented"
            responses = {str(k): v for k, v in operation.get("responses", {}).items() if k != "default"}
            operation["responses"] = responses
            policy = getattr(function, ACCESS_ATTR, None)
            statuses = {503}
            if policy == PUBLIC:
                operation["security"] = []
            else:
                statuses |= {401, 403, 404}
                if policy:
                    roles = sorted(role.value for role in policy)
                    operation["x-roles"] = roles
                    note = f"Roles: {', '.join(roles)} (scope is then checked on the data)."
                    operation["description"] = f"{operation.get('description', '').strip()}\n\n{note}".strip()
            if has_path_params:
                statuses.add(404)
            body = operation.get("requestBody")
            if body:
                statuses |= {400, 413, 415, 422}
                json_body = body.get("content", {}).get("application/json")
                if json_body is not None and len(body.get("content", {})) == 1:
                    body["required"] = self._schema_requires_fields(json_body.get("schema"))
            if any(p.get("in") == "query" for p in operation.get("parameters", []) if isinstance(p, dict)):
                statuses.add(422)
            if method in WRITES:
                statuses |= {409, 422}  # a state or domain rule (Invalid) can refuse any write
            idempotent = any(
                isinstance(p, dict) and p.get("in") == "header" and p.get("name") == IDEMPOTENCY_HEADER
                for p in operation.get("parameters", [])
            )
            if idempotent:
                statuses |= {400, 409}
            statuses |= EXTRA_STATUSES.get(operation["operationId"], set())
            for status, media_type in _declared_content_types(function).items():
                content = responses.get(status, {}).setdefault("content", {})
                content.setdefault(media_type, {"schema": {"type": "string"}})
            for status in sorted(statuses):
                if not isinstance(responses.get(str(status)), dict):  # keep a described alt_response
                    responses[str(status)] = ERROR_RESPONSES[status][0]
            for status, response in responses.items():
                if not isinstance(response, dict) or not status.startswith("2"):
                    continue
                headers = response.setdefault("headers", {})
                headers["X-Request-Id"] = REQUEST_ID_HEADER
                if idempotent:
                    headers["Idempotent-Replayed"] = {
                        "description": "`true` when this is the stored response of an earlier request with "
                        "the same Idempotency-Key and body (nothing was done again)",
                        "schema": {"type": "string", "enum": ["true"]},
                    }
            operation["responses"] = responses = dict(sorted(responses.items()))
            links = LINKS.get(operation["operationId"])
            if links:
                for status, response in responses.items():
                    if status.startswith("2") and isinstance(response, dict):
                        response["links"] = {
                            name: {"operationId": target, "parameters": parameters, "description": text}
                            for name, (target, parameters, text) in links.items()
                        }


# --- links: what a client can do next with what it just got -----------------------------------

_ID = "$response.body#/id"
LINKS: dict[str, dict[str, tuple[str, dict, str]]] = {
    "postRedemptions": {
        "refund": ("postRedemptionRefund", {"redemption_id": _ID}, "Refund the basket, whole or by line"),
        "receipt": ("getRedemptionReceipt", {"redemption_id": _ID}, "The receipt of the basket"),
        "printableReceipt": ("getRedemptionReceiptPrintable", {"redemption_id": _ID}, "The 58 mm receipt"),
        "redemption": ("getRedemptionById", {"redemption_id": _ID}, "The basket"),
    },
    "postRedemptionRefund": {
        "refund": ("getRefundById", {"refund_id": _ID}, "The refund"),
        "receipt": ("getRefundReceipt", {"refund_id": _ID}, "The refund receipt"),
    },
    "postServiceRecords": {
        "approve": ("postServiceRecordApproval", {"record_id": _ID}, "Approve (four-eyes: another staff member)"),
        "reject": ("postServiceRecordRejection", {"record_id": _ID}, "Reject with a reason"),
        "record": ("getServiceRecordById", {"record_id": _ID}, "The record"),
    },
    "postServiceRecordApproval": {
        "reverse": ("postServiceRecordReversal", {"record_id": _ID}, "Reverse the approved record with a reason"),
    },
    "postMembers": {
        "member": ("getMemberById", {"member_id": _ID}, "The resident"),
        "balance": ("getMemberBalance", {"member_id": _ID}, "Coins, hours and star"),
        "statement": ("getMemberStatement", {"member_id": _ID}, "The resident's statement"),
        "stars": ("getMemberStars", {"member_id": _ID}, "Star rating history"),
    },
    "postConductAwards": {
        "award": ("getConductAwardById", {"award_id": _ID}, "The award"),
        "reverse": ("postConductAwardReversal", {"award_id": _ID}, "Reverse the award"),
    },
    "postServiceRedemptions": {
        "redemption": ("getServiceRedemptionById", {"redemption_id": _ID}, "The service redemption"),
        "reverse": ("postServiceRedemptionReversal", {"redemption_id": _ID}, "Reverse it (hours go back)"),
    },
    "postAdjustments": {
        "transaction": ("getTransactionById", {"transaction_id": _ID}, "The posting"),
    },
    "postProducts": {
        "product": ("getProductById", {"product_id": _ID}, "The product"),
        "update": ("patchProductById", {"product_id": _ID}, "Rename, reprice, (de)activate"),
    },
    "postStockReceipts": {
        "receipt": ("getStockReceiptById", {"receipt_id": _ID}, "The stock receipt"),
    },
    "postHouseholds": {
        "household": ("getHouseholdById", {"household_id": _ID}, "The household"),
    },
    "postCommunities": {
        "community": ("getCommunityById", {"community_id": _ID}, "The community"),
        "settings": ("patchCommunityById", {"community_id": _ID}, "Change rates, caps and rules"),
    },
    "postFlags": {
        "resolve": ("postFlagResolution", {"flag_id": _ID}, "Keep or reverse the flagged award (administrators)"),
    },
    "postReconciliations": {
        "reconciliation": ("getReconciliationById", {"reconciliation_id": _ID}, "The run and its discrepancies"),
    },
    "postIssuanceBudgets": {
        "budget": ("getIssuanceBudgetById", {"budget_id": _ID}, "The budget"),
    },
    "postServiceProviders": {
        "provider": ("getServiceProviderById", {"provider_id": _ID}, "The provider"),
    },
    "postServices": {
        "service": ("getServiceById", {"service_id": _ID}, "The service"),
    },
    "postCertificates": {
        "check": ("getCertificateByNumber", {"number": "$response.body#/number"}, "The public check by number"),
    },
}


# --- operations endpoints outside /api ---------------------------------------------------------

_TEXT = {"schema": {"type": "string"}}
OPERATIONS_PATHS = {
    "/healthz": {
        "get": {
            "operationId": "getHealthz", "tags": ["operations"], "security": [],
            "summary": "Liveness: the process answers",
            "responses": {"200": {"description": "alive", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["alive"]}},
            }}}}},
        }
    },
    "/readyz": {
        "get": {
            "operationId": "getReadyz", "tags": ["operations"], "security": [],
            "summary": "Readiness: database and queue reachable, last reconciliation passed",
            "responses": {
                status: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}
                for status, text in (("200", "ready"), ("503", "not ready: see checks"))
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "getMetrics", "tags": ["operations"], "security": [],
            "summary": "Prometheus metrics (text exposition format)",
            "responses": {"200": {"description": "metrics", "content": {"text/plain": _TEXT}}},
        }
    },
}
READINESS_SCHEMA = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "not_ready"]},
        "checks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["ok"],
                "properties": {"ok": {"type": "boolean"}, "detail": {}},
            },
        },
    },
}


def init_app(app: Flask, api) -> None:
    """Call right after the Api is made, before any blueprint is registered."""
    for name, converter in CONVERTERS.items():
        app.url_map.converters[name] = converter
        api.register_converter(converter, _pattern_schema)
    plugin = ContractPlugin(app)
    plugin.init_spec(api.spec)
    api.spec.plugins.append(plugin)
    for name, description in ERROR_RESPONSES.values():
        api.spec.components.response(
            name,
            {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}},
            lazy=True,
        )
    api.spec.components.schema("Readiness", READINESS_SCHEMA)
    for path, operations in OPERATIONS_PATHS.items():
        rule = next(r for r in app.url_map.iter_rules() if r.rule == path)
        api.spec.path(rule=rule, operations=operations)
