"""The guards every request passes: the declared access policy, tokens that expire, the
failed-login rate limit, a JSON 503 when the database is down, and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from service import create_app
from service.auth.access import ACCESS_ATTR, PUBLIC, enforce_access_policy
from service.auth.api import WhoAmI
from service.auth.models import ApiToken, Staff
from service.extensions import db
from tests.factories import PASSWORD
from tests.service.test_foundation_hostile_input import Guard, assert_error_body

# flask-smorest's own pages: the OpenAPI document and its two viewers are public by nature.
DOC_ENDPOINTS = {"api-docs.openapi_json", "api-docs.openapi_swagger_ui", "api-docs.openapi_redoc"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def api_routes(app):
    """(rule, method, endpoint) for every method of every route under /api/v1."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, rule.endpoint


def test_every_api_view_method_declares_who_may_call_it(app):
    undeclared, unguarded = [], set()
    for rule, method, endpoint in api_routes(app):
        if endpoint in DOC_ENDPOINTS:
            continue
        view = app.view_functions[endpoint]
        handler = getattr(view.view_class, method.lower())
        policy = getattr(handler, ACCESS_ATTR, None)
        if policy is None:
            undeclared.append(f"{method} {rule.rule}")
        else:
            assert policy == PUBLIC or (isinstance(policy, frozenset) and policy), (method, rule.rule, policy)
        blueprint = endpoint.partition(".")[0]
        if enforce_access_policy not in app.before_request_funcs.get(blueprint, []):
            unguarded.add(blueprint)
    assert undeclared == []
    assert unguarded == set()
    assert {e for _, _, e in api_routes(app)} >= DOC_ENDPOINTS


def test_public_api_endpoints_are_only_the_sign_in_and_look_up_ones(app):
    public = {
        f"{method} {rule.rule}"
        for rule, method, endpoint in api_routes(app)
        if endpoint not in DOC_ENDPOINTS
        and getattr(getattr(app.view_functions[endpoint].view_class, method.lower()), ACCESS_ATTR) == PUBLIC
    }
    assert {"POST /api/v1/auth/token", "POST /api/v1/auth/resident-token"} <= public
    assert not {p for p in public if p.split()[0] in WRITE_METHODS} - {
        "POST /api/v1/auth/token",
        "POST /api/v1/auth/resident-token",
    }, "a public endpoint writes"


def test_a_view_without_an_access_declaration_is_refused(world, monkeypatch):
    admin = world.admin(world.community())
    assert admin.get("/api/v1/auth/me").status_code == 200
    monkeypatch.delattr(WhoAmI.get, ACCESS_ATTR)
    assert_error_body(admin.get("/api/v1/auth/me"), 403, "no_access_policy")
    assert_error_body(world.client.get("/api/v1/auth/me"), 403, "no_access_policy")


def set_token_field(app, token_owner_filter, **values):
    with app.app_context():
        db.run(lambda s: s.execute(update(ApiToken).where(token_owner_filter).values(**values)))


def test_an_expired_or_revoked_token_is_refused(world, app):
    community = world.community()
    admin = world.admin(community)
    resident = world.resident(world.member(community))
    assert admin.get("/api/v1/auth/me").status_code == 200
    assert resident.get("/api/v1/auth/me").status_code == 200
    set_token_field(
        app, ApiToken.staff_id == admin.id, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    assert_error_body(admin.get("/api/v1/auth/me"), 401, "invalid_token")
    set_token_field(app, ApiToken.member_id == resident.id, revoked=True)
    assert_error_body(resident.get("/api/v1/auth/me"), 401, "invalid_token")


def test_tokens_expire_after_the_configured_lifetime(database_url):
    app = create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "TOKEN_TTL_MINUTES": 0, "REDIS_URL": None}
    )
    try:
        from tests.factories import World

        world = World(app)
        community = world.community()
        response = world.client.post(
            "/api/v1/auth/token", json={"username": world.admin(community).username, "password": PASSWORD}
        )
        token = response.json["token"]
        me = world.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert_error_body(me, 401, "invalid_token")
    finally:
        app.extensions["greencoin_db"][0].dispose()


def test_a_deactivated_staff_members_token_stops_working(world, app):
    admin = world.admin(world.community())
    with app.app_context():
        db.run(lambda s: s.execute(update(Staff).where(Staff.id == admin.id).values(active=False)))
    assert_error_body(admin.get("/api/v1/auth/me"), 401, "invalid_token")
    response = world.client.post(
        "/api/v1/auth/token", json={"username": admin.username, "password": PASSWORD}
    )
    assert_error_body(response, 401, "invalid_credentials")


@pytest.fixture
def strict_app(database_url):
    app = create_app(
        {"DATABASE_URL": database_url, "TESTING": True, "LOGIN_RATE_LIMIT": "3 per minute", "REDIS_URL": None}
    )
    yield app
    app.extensions["greencoin_db"][0].dispose()


def test_failed_logins_are_rate_limited_per_username(strict_app):
    from tests.factories import World

    world = World(strict_app)
    community = world.community()
    target, bystander = world.admin(community), world.admin(community)
    member = world.member(community)
    client, guard = strict_app.test_client(), Guard(strict_app)

    def sign_in(username, password):
        return client.post("/api/v1/auth/token", json={"username": username, "password": password})

    for _ in range(3):
        guard.refuses(lambda: sign_in(target.username, "wrong-password"), 401, "invalid_credentials")
    guard.refuses(lambda: sign_in(target.username, "wrong-password"), 429, "too_many_requests")
    # Locked for now even with the right password; other users are not affected.
    guard.refuses(lambda: sign_in(target.username, PASSWORD), 429, "too_many_requests")
    assert sign_in(bystander.username, PASSWORD).status_code == 201
    # Successful sign-ins never count towards the limit.
    for _ in range(4):
        assert sign_in(bystander.username, PASSWORD).status_code == 201

    def resident_sign_in(pin):
        return client.post("/api/v1/auth/resident-token", json={"card_code": member.card_code, "pin": pin})

    for _ in range(3):
        guard.refuses(lambda: resident_sign_in("000000"), 401)
    guard.refuses(lambda: resident_sign_in("000000"), 429, "too_many_requests")


@pytest.mark.parametrize(
    "unreachable_url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/greencoin?connect_timeout=2",
        "sqlite:////nonexistent-directory/greencoin/greencoin.db",
    ],
    ids=["postgresql-closed-port", "sqlite-missing-directory"],
)
def test_an_unreachable_database_gives_a_json_503(unreachable_url):
    app = create_app({"DATABASE_URL": unreachable_url, "TESTING": True, "REDIS_URL": None})
    client = app.test_client()
    auth = {"Authorization": "Bearer some-token"}
    for response in [
        client.get("/api/v1/communities", headers=auth),
        client.get("/api/v1/members/1/balance", headers=auth),
        client.post(
            "/api/v1/adjustments",
            headers={**auth, "Idempotency-Key": "k"},
            json={"member_id": 1, "unit": "COIN", "amount": 5, "reason": "x"},
        ),
        client.post("/api/v1/auth/token", json={"username": "someone", "password": "whatever-1"}),
        client.post("/api/v1/auth/resident-token", json={"card_code": "abc", "pin": "1234"}),
    ]:
        assert response.status_code == 503, response.get_data(as_text=True)[:300]
        assert response.get_json()["error"]["code"] == "database_unavailable"
        assert "Traceback" not in response.get_data(as_text=True)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["database"]["ok"] is False
    assert client.get("/healthz").status_code == 200  # alive, just not ready
    app.extensions["greencoin_db"][0].dispose()


FOUNDATION_BODIES = {
    ("post", "/api/v1/adjustments"): {"member_id", "household_id", "unit", "amount", "reason"},
    ("post", "/api/v1/communities"): {"code", "name", "coins_per_hour"},
    ("patch", "/api/v1/communities/{community_id}"): {"coins_per_hour", "four_eyes"},
    ("post", "/api/v1/stations"): {"community_id", "code", "name"},
    ("post", "/api/v1/supermarkets"): {"community_id", "code", "name"},
    ("post", "/api/v1/staff"): {"username", "password", "role"},
    ("post", "/api/v1/members"): {"community_id", "name", "pin"},
    ("post", "/api/v1/households"): {"community_id", "name"},
    ("post", "/api/v1/transactions/{transaction_id}/reverse"): {"reason"},
    ("post", "/api/v1/auth/token"): {"username", "password"},
    ("post", "/api/v1/auth/resident-token"): {"card_code", "pin"},
}


def test_the_openapi_document_lists_every_endpoint_with_its_request_schema(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    listed = {
        (method.lower(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    for rule, method, endpoint in api_routes(app):
        if endpoint in DOC_ENDPOINTS:
            continue
        path = re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        assert (method.lower(), path) in listed, f"{method} {rule.rule} is missing from the OpenAPI document"

    schemas = spec["components"]["schemas"]
    for (method, path), fields in FOUNDATION_BODIES.items():
        operation = spec["paths"][path][method]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[ref.rsplit("/", 1)[-1]]
        assert fields <= set(schema["properties"]), (path, sorted(schema["properties"]))
        assert schema.get("additionalProperties") is False, path
    adjust = spec["paths"]["/api/v1/adjustments"]["post"]
    assert {"in": "header", "name": "Idempotency-Key"}.items() <= adjust["parameters"][0].items()
    assert schemas["Adjustment"]["properties"]["amount"]["type"] == "integer"
    assert "bearerAuth" in spec["components"]["securitySchemes"]
