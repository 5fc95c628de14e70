"""Arguments with a NUL character are refused before any view runs (PostgreSQL cannot store one)."""

from service import domains
from service.blueprint import Blueprint, find_nul


def test_every_api_blueprint_parses_through_the_guarded_parser():
    blueprints = [module.blp for module in domains.domain_modules("api")]
    assert blueprints and all(isinstance(blp, Blueprint) for blp in blueprints), [
        type(blp).__module__ for blp in blueprints if not isinstance(blp, Blueprint)
    ]


def test_a_nul_character_in_a_body_or_query_is_a_422_and_writes_nothing(world):
    community = world.community()
    admin = world.admin(community)
    created = admin.post("/api/v1/members", {"community_id": community.id, "name": "张\x00三"})
    assert created.status_code == 422, created.json
    assert created.json["error"]["code"] == "validation_error" and "name" in created.json["error"]["details"]["fields"]
    assert admin.get(f"/api/v1/members?community_id={community.id}").json == []
    found = admin.get("/api/v1/members", query_string={"name": "a\x00b"})
    assert found.status_code == 422 and found.json["error"]["code"] == "validation_error"


def test_find_nul_names_the_nested_place():
    assert find_nul({"lines": [{"sku": "ok"}, {"sku": "b\x00d"}]}) == "lines.1.sku"
    assert find_nul({"name": "张三", "n": 3}) is None
