"""``docs/api.md``: the OpenAPI document as Markdown, for readers without the interactive pages.

``greencoin api-reference`` writes it; ``tests/service/openapi/test_reference.py`` fails when the
file differs from what the current code generates, so it is never out of date on main.
"""

from __future__ import annotations

import json

METHODS = ("get", "post", "put", "patch", "delete")
HEADER = """# Greencoin API reference

<!-- Generated from /api/v1/openapi.json by `greencoin api-reference --output docs/api.md`; do not edit.
     tests/service/openapi/test_reference.py fails when it is out of date. -->

Base URL `/api/v1`. Authentication, idempotency and retries, errors and pagination are explained in
[integrate.md](integrate.md). Interactive versions of this document: `/api/v1/docs` (Swagger UI) and
`/api/v1/redoc` (ReDoc); the machine-readable one is `/api/v1/openapi.json`.
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict) -> str:
    """A short, readable type: `integer`, `string (date-time)`, `[Line]`, `Member`."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    if "$ref" in schema:
        return f"[{_ref_name(schema['$ref'])}](#schema-{_ref_name(schema['$ref']).lower()})"
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type(schema["allOf"][0])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if schema.get("format"):
        kind += f" ({schema['format']})"
    if schema.get("nullable"):
        kind += ", nullable"
    return kind


def _constraints(schema: dict) -> str:
    if not isinstance(schema, dict):
        return ""
    parts = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤"),
                       ("minItems", "items ≥"), ("maxItems", "items ≤")):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if "pattern" in schema:
        parts.append(f"pattern `{schema['pattern']}`")
    if "not" in schema:
        parts.append(f"not {json.dumps(schema['not'], ensure_ascii=False)}")
    if "default" in schema:
        parts.append(f"default `{json.dumps(schema['default'], ensure_ascii=False)}`")
    return "; ".join(parts)


def _cell(text) -> str:
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def _operation(lines: list[str], path: str, method: str, op: dict, path_params: list) -> None:
    lines.append(f"### `{method.upper()} {path}`")
    lines.append("")
    if op.get("summary"):
        lines += [op["summary"], ""]
    if op.get("description"):
        lines += [op["description"].strip(), ""]
    auth = "public (no token)" if op.get("security") == [] else "bearer token"
    lines += [f"operationId `{op['operationId']}` · {auth}", ""]
    params = [*path_params, *op.get("parameters", [])]
    if params:
        lines += ["| parameter | in | required | type | constraints | description |", "|---|---|---|---|---|---|"]
        for p in params:
            schema = p.get("schema", {})
            lines.append(
                f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | {_cell(_type(schema))} "
                f"| {_cell(_constraints(schema))} | {_cell(p.get('description') or schema.get('description'))} |"
            )
        lines.append("")
    body = op.get("requestBody")
    if body:
        kinds = ", ".join(f"`{media}` {_type(c.get('schema', {}))}" for media, c in body["content"].items())
        lines += [f"Body ({'required' if body.get('required') else 'optional'}): {kinds}", ""]
    lines += ["| status | meaning | body |", "|---|---|---|"]
    for status, response in op["responses"].items():
        if "$ref" in response:
            name = _ref_name(response["$ref"])
            lines.append(f"| {status} | {name} | [ApiError](#schema-apierror) |")
            continue
        content = response.get("content", {})
        kinds = ", ".join(f"`{media}` {_type(c.get('schema', {}))}" for media, c in content.items()) or "none"
        extra = ""
        if "Idempotent-Replayed" in response.get("headers", {}):
            extra = " (header `Idempotent-Replayed: true` on a replay)"
        lines.append(f"| {status} | {_cell(response.get('description'))}{extra} | {_cell(kinds)} |")
        for name, link in response.get("links", {}).items():
            lines.append(f"| | → link `{name}`: `{link['operationId']}` | {_cell(link.get('description'))} |")
    lines.append("")


def _schema(lines: list[str], name: str, schema: dict) -> None:
    lines += [f'<a id="schema-{name.lower()}"></a>', f"### {name}", ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    properties = schema.get("properties", {})
    if not properties:
        lines += [f"{_type(schema)}", ""]
        return
    required = set(schema.get("required", []))
    lines += ["| field | type | required | constraints | description |", "|---|---|---|---|---|"]
    for field, spec in properties.items():
        flags = "yes" if field in required else "no"
        if spec.get("readOnly"):
            flags = "read-only"
        if spec.get("writeOnly"):
            flags += ", write-only"
        lines.append(
            f"| `{field}` | {_cell(_type(spec))} | {flags} | {_cell(_constraints(spec))} | {_cell(spec.get('description'))} |"
        )
    lines.append("")
    for rule in schema.get("allOf", [schema]):
        if "oneOf" in rule:
            names = ", ".join(f"`{name}`" for alternative in rule["oneOf"] for name in alternative["required"])
            lines += [f"Exactly one of {names}.", ""]


def markdown(document: dict) -> str:
    """The reference as Markdown, deterministic for a given document."""
    lines = [HEADER]
    tags: dict[str, list] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                tags.setdefault(tag, []).append((path, method, item[method], item.get("parameters", [])))
    descriptions = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
    lines += ["## Contents", ""]
    for tag, ops in tags.items():
        lines.append(f"- [{tag}](#{tag.lower()}) ({len(ops)} operations){' — ' + descriptions[tag] if descriptions.get(tag) else ''}")
    lines += ["- [Schemas](#schemas)", ""]
    for tag, ops in tags.items():
        lines += [f"## {tag}", ""]
        if descriptions.get(tag):
            lines += [descriptions[tag], ""]
        for path, method, op, path_params in ops:
            _operation(lines, path, method, op, path_params)
    lines += ["## Schemas", ""]
    for name, schema in sorted(document["components"]["schemas"].items()):
        _schema(lines, name, schema)
    return "\n".join(lines).rstrip() + "\n"


def current_markdown(app) -> str:
    with app.test_client() as client:
        return markdown(client.get("/api/v1/openapi.json").get_json())
