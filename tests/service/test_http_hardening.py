"""Hostile requests never reach a 500, and every response carries the security headers (issue #9 §4, §5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.service.test_foundation_hostile_input import assert_error_body, row_counts

TEMPLATES = Path(__file__).resolve().parents[2] / "service" / "web" / "templates"

SURROGATE = '{"username": "\\ud800", "password": "secret-secret"}'
DEEP = "[" * 50_000 + "]" * 50_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000
LONG_INTEGER = '{"username": "a", "password": "b", "n": ' + "9" * 5000 + "}"
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("body", [SURROGATE, DEEP, DEEP_OBJECT, LONG_INTEGER], ids=["surrogate", "deep", "deep-object", "long-int"])
def test_hostile_json_on_the_unauthenticated_sign_in_is_a_400_in_the_spec_shape(client, app, body):
    before = row_counts(app)
    response = client.post("/api/v1/auth/token", data=body, headers=JSON)
    assert_error_body(response, 400, "invalid_json")
    response = client.post("/api/v1/auth/resident-token", data=body, headers=JSON)
    assert_error_body(response, 400, "invalid_json")
    assert row_counts(app) == before


@pytest.mark.parametrize("body", [SURROGATE, DEEP, LONG_INTEGER], ids=["surrogate", "deep", "long-int"])
def test_hostile_json_to_a_signed_in_write_is_a_400_and_writes_nothing(world, app, body):
    community = world.community()
    admin = world.admin(community)
    before = row_counts(app)
    response = admin.post("/api/v1/members", data=body, headers=JSON)
    assert_error_body(response, 400, "invalid_json")
    assert row_counts(app) == before


def test_a_surrogate_inside_a_nested_value_is_refused(world):
    community = world.community()
    admin = world.admin(community)
    body = '{"community_id": ' + str(community.id) + ', "name": "\\udc00\\u5f20"}'
    assert_error_body(admin.post("/api/v1/members", data=body, headers=JSON), 400, "invalid_json")


def test_a_body_over_the_limit_is_413_before_it_is_read_or_anyone_is_authenticated(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 2 * 1024 * 1024
    body = b'{"username": "' + b"a" * limit + b'", "password": "x"}'
    error = assert_error_body(client.post("/api/v1/auth/token", data=body, headers=JSON), 413, "payload_too_large")
    assert error["details"]["limit"] == limit
    # also without any credentials on a protected endpoint: refused for size, not read
    assert_error_body(client.post("/api/v1/members", data=body, headers=JSON), 413, "payload_too_large")
    # a page form too
    response = client.post("/sign-in/staff", data={"username": "a" * limit})
    assert response.status_code == 413


def _placeholder_url(rule) -> str:
    """The rule's URL with every argument filled in with a value its converter accepts."""
    from werkzeug.routing.converters import AnyConverter, NumberConverter

    from service.openapi import MonthConverter

    url = rule.rule
    for arg, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            value = sorted(converter.items)[0]
        elif isinstance(converter, MonthConverter):
            value = "2026-11"  # the documented {month} pattern
        else:
            value = "1" if isinstance(converter, NumberConverter) else "x"
        url = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, url)
    return url


def test_every_405_answer_carries_the_allow_header(app, client):
    allowed_by_path: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        allowed_by_path.setdefault(_placeholder_url(rule), set()).update(rule.methods or ())
    assert len(allowed_by_path) > 50
    for url, allowed in allowed_by_path.items():
        method = next(m for m in ("DELETE", "PATCH", "PUT", "POST") if m not in allowed)
        response = client.open(url, method=method)
        assert response.status_code == 405, (url, method, response.status_code)
        header = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        assert header and header <= allowed | {"OPTIONS", "HEAD"}, (url, header)
        if url.startswith("/api"):
            assert_error_body(response, 405, "method_not_allowed")


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


@pytest.mark.parametrize("path", ["/sign-in", "/sign-in/staff", "/api/v1/health", "/api/v1/members", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    for header in SECURITY_HEADERS:
        assert response.headers.get(header), (path, header, dict(response.headers))
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# A script element without src runs inline code, unless it is a data block (type="application/json").
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_no_template_has_an_inline_script_an_event_handler_or_a_javascript_url():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, re.compile("javascript:", re.I)):
            offenders += [f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[0]


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(app):
    plain = _session_cookie(app.test_client().get("/sign-in/staff"))
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    https = _session_cookie(app.test_client().get("/sign-in/staff", base_url="https://localhost"))
    assert "Secure" in https and "HttpOnly" in https
    app.config["SECURE_COOKIES"] = "1"
    assert "Secure" in _session_cookie(app.test_client().get("/sign-in/staff"))


@pytest.mark.parametrize("proxies, expected", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_is_taken_from_trusted_proxies_only(database_url, proxies, expected):
    from service import create_app

    app = create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "t", "REDIS_URL": None, "TRUSTED_PROXIES": proxies}
    )
    seen = []
    app.before_request(lambda: seen.append(__import__("flask").request.remote_addr))
    app.test_client().get("/sign-in", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
    assert seen == [expected]
    app.extensions["greencoin_db"][0].dispose()


@pytest.mark.parametrize("secret", [None, "greencoin-development-key-change-me", "short"])
def test_production_refuses_to_start_with_a_development_or_short_session_key(tmp_path, secret):
    from service import create_app

    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": None, "GREENCOIN_ENV": "production",
              "PII_KEY": "a-real-personal-data-key-" + "k" * 20}
    if secret is not None:
        config["SECRET_KEY"] = secret
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)
