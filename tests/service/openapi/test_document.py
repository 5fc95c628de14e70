"""The OpenAPI document says what the server does: access, errors, headers, media types, limits, links."""

from __future__ import annotations

import re

import pytest

from service.auth.access import ACCESS_ATTR, PUBLIC
from service.openapi import LINKS
from tests.service.test_foundation_hostile_input import assert_error_body

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolve(document, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        section, name = obj["$ref"].split("/")[-2:]
        obj = document["components"][section][name]
    return obj


def test_public_operations_and_only_they_are_documented_without_security(app, document):
    declared_public = set()
    for rule in app.url_map.iter_rules():
        view_class = getattr(app.view_functions[rule.endpoint], "view_class", None)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            handler = getattr(view_class, method.lower(), None)
            if getattr(handler, ACCESS_ATTR, None) == PUBLIC:
                declared_public.add((re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), method.lower()))
    documented_public = {(p, m) for p, m, op in operations(document) if op.get("security") == []}
    assert {("/api/v1/auth/token", "post"), ("/api/v1/auth/resident-token", "post"),
            ("/api/v1/ledger/chain-head", "get")} <= documented_public
    assert documented_public - {("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get")} == declared_public
    assert document["security"] == [{"bearerAuth": []}]


def test_every_operation_lists_its_error_statuses_with_a_strict_error_schema(document):
    error = document["components"]["schemas"]["ApiError"]
    assert error["required"] == ["error"]
    detail = resolve(document, error["properties"]["error"])
    assert set(detail["required"]) == {"code", "message"}
    for path, method, operation in operations(document):
        responses = operation["responses"]
        assert "default" not in responses, (method, path)
        if not path.startswith("/api/"):
            continue
        assert "503" in responses, (method, path)
        if operation.get("security") != []:
            assert {"401", "403", "404"} <= set(responses), (method, path)
        if "requestBody" in operation:
            assert {"400", "415", "422"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = resolve(document, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ApiError"}, (method, path, status)


def test_idempotency_key_is_documented_as_the_server_checks_it(world, document):
    param = next(
        p for p in document["paths"]["/api/v1/adjustments"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
    )
    assert param["required"] is True
    schema = param["schema"]
    assert schema["minLength"] == 1 and schema["maxLength"] == 100
    pattern = re.compile(schema["pattern"])
    assert not pattern.search("   ") and pattern.search("retry-1")
    replayed = document["paths"]["/api/v1/adjustments"]["post"]["responses"]["201"]["headers"]
    assert replayed["Idempotent-Replayed"]["schema"]["enum"] == ["true"]

    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    body = {"member_id": member.id, "unit": "COIN", "amount": 5, "reason": "opening"}
    for blank in ("", "   "):
        answer = admin.post("/api/v1/adjustments", json=body, headers={"Idempotency-Key": blank})
        assert_error_body(answer, 400)


def test_a_patch_body_is_optional_where_the_server_reads_none_as_no_change(world, document):
    patch = document["paths"]["/api/v1/communities/{community_id}"]["patch"]
    assert patch["requestBody"]["required"] is False
    community = world.community()
    answer = world.admin(community).patch(f"/api/v1/communities/{community.id}")
    assert answer.status_code == 200
    # a body whose schema requires a field stays required
    assert document["paths"]["/api/v1/redemptions"]["post"]["requestBody"]["required"] is True


def test_month_certificate_number_and_report_days_have_the_pattern_the_server_enforces(world, document):
    month = document["paths"]["/api/v1/disclosures/{community_id}/{month}"]["parameters"]
    pattern = next(p for p in month if p["name"] == "month")["schema"]["pattern"]
    assert re.fullmatch(pattern, "2026-11") and not re.fullmatch(pattern, "2026-13")
    number = document["paths"]["/api/v1/certificates/{number}"]["parameters"][0]["schema"]["pattern"]
    assert re.fullmatch(number, "GC20261103-1A2B3C4D5E") and not re.fullmatch(number, "a b")
    totals = document["paths"]["/api/v1/supermarkets/{supermarket_id}/daily-totals.csv"]["get"]["parameters"]
    day = next(p for p in totals if p["name"] == "first_day")["schema"]
    assert day["format"] == "date" and re.match(day["pattern"], "2000-01-01") and not re.match(day["pattern"], "1999-12-31")
    community = world.community()
    admin = world.admin(community)
    assert_error_body(admin.get(f"/api/v1/disclosures/{community.id}/2026-13"), 404)
    assert_error_body(admin.get(f"/api/v1/disclosures/{community.id}/1999-01.csv"), 404)


def test_csv_and_html_responses_declare_their_media_type(document):
    paths = document["paths"]
    assert "text/csv" in paths["/api/v1/disclosures/{community_id}/{month}.csv"]["get"]["responses"]["200"]["content"]
    assert "text/html" in paths["/api/v1/redemptions/{redemption_id}/receipt.html"]["get"]["responses"]["200"]["content"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    for path in ("/healthz", "/readyz", "/metrics"):
        assert paths[path]["get"]["security"] == []


def test_operation_ids_are_unique_and_every_link_points_at_a_real_operation(document):
    by_id = {}
    for path, method, operation in operations(document):
        assert operation["operationId"] not in by_id, operation["operationId"]
        by_id[operation["operationId"]] = (path, method)
    assert set(LINKS) <= set(by_id)
    linked = 0
    for source, links in LINKS.items():
        path, method = by_id[source]
        response = next(r for s, r in document["paths"][path][method]["responses"].items() if s.startswith("2"))
        for name, (target, parameters, _) in links.items():
            assert response["links"][name]["operationId"] == target
            target_path, _ = by_id[target]
            for parameter in parameters:
                assert "{" + parameter + "}" in target_path, (source, name, parameter)
            linked += 1
    assert linked >= 10
    assert "postRedemptionRefund" in {t for t, _, _ in LINKS["postRedemptions"].values()}


def test_a_csv_sheet_without_a_recognised_column_is_refused(world):
    community = world.community()
    station = world.station(community)
    staff = world.staff("station_staff", community=community, station=station)
    for sheet in ("name,colour\nWang,red\n", "true", "volunteer,activity,start,end\n"):
        answer = staff.post(
            f"/api/v1/service-records/batch?station_id={station.id}", data=sheet.encode(),
            content_type="text/csv",
        )
        assert_error_body(answer, 422)


def test_every_boolean_in_a_json_body_takes_only_true_or_false(world, document):
    """The document says ``boolean``; 0, 1, "true", "yes" or null must not become a silent yes or no."""
    city_admin = world.admin()
    checked = set()
    for path, method, operation in operations(document):
        if method not in {"post", "patch", "put"} or "admin" not in operation.get("x-roles", []):
            continue
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        properties = resolve(document, media["schema"]).get("properties", {}) if media else {}
        for name, prop in properties.items():
            if prop.get("type") != "boolean" or prop.get("readOnly"):
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            for value in (0, 1, "true", "yes", None):
                answer = getattr(city_admin, method)(url, {name: value})
                error = assert_error_body(answer, 422)
                assert name in error["details"]["fields"], (method, path, name, value, error)
            checked.add(f"{method.upper()} {path} {name}")
    assert {
        "POST /api/v1/products active", "PATCH /api/v1/products/{product_id} active",
        "PATCH /api/v1/communities/{community_id} four_eyes", "POST /api/v1/services active",
        "PATCH /api/v1/activities/{activity_id} active", "PATCH /api/v1/service-providers/{provider_id} active",
    } <= checked, sorted(checked)


def test_exactly_one_of_rules_are_in_the_document_as_the_server_checks_them(client, document):
    """The same ``exactly_one_of`` rule validates the body and writes the ``oneOf``."""
    schemas = document["components"]["schemas"]
    documented = {}
    for name, schema in schemas.items():
        for rule in schema.get("allOf", [schema]):
            if "oneOf" in rule:
                group = [alternative["required"] for alternative in rule["oneOf"]]
                assert all(len(names) == 1 and names[0] in schema["properties"] for names in group), (name, group)
                documented.setdefault(name, []).append(sorted(names[0] for names in group))
    assert documented["MarketBasketLine"] == [["product_id", "sku"]]
    assert documented["ResidentTokenRequest"] == [["card_code", "phone"]]
    assert documented["ServiceRecordCreate"] == [
        ["activity", "activity_id"], ["card_code", "volunteer", "volunteer_id", "volunteer_number"]
    ]
    assert {"AwardCreate", "FlagCreate", "MarketRedemptionCreate", "StockTakeLineIn"} <= set(documented)
    for body in ({"pin": "123456"}, {"card_code": "X", "phone": "13800000000", "pin": "123456"}):
        error = assert_error_body(client.post("/api/v1/auth/resident-token", json=body), 422)
        assert error["details"]["fields"] == {"card_code": ["send either card_code or phone"]}
