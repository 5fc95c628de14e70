"""The elder's statement says who acted for them (代办)."""

from __future__ import annotations

from ledger import Unit
from tests.web.pages import resident_browser, text_of


def test_the_elders_statement_names_the_helper(app, world):
    community = world.community()
    elder = world.member(community, name="李奶奶")
    helper = world.member(community, name="李小明")
    grandson = world.member(community, name="李小宝")
    world.credit(elder, 120, Unit.HOUR)
    world.resident(elder).post("/api/v1/helper-grants", json={
        "elder_member_id": elder.id, "helper": helper.volunteer_number, "relation": "child"})
    given = world.resident(helper).post("/api/v1/hour-transfers", json={
        "from_member_id": elder.id, "to_member_id": grandson.id, "minutes": 60, "relation": "grandchild"})
    assert given.status_code == 201, given.json
    page = text_of(resident_browser(app, elder).get("/me/statement?unit=HOUR"))
    assert "由李*明代办" in page
