"""Hostile or ordinary query input to the jobs API gets a clear answer, never a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("month", ["0000-01", "9999-12"])
def test_a_month_outside_the_calendar_is_refused(world, month):
    """The {month} path pattern (documented in the OpenAPI document) takes years 2000-2999 only; any
    other month is no such URL: a JSON 404, never a 500."""
    community = world.community()
    admin = world.admin(community)
    for suffix in ("", ".csv", ".html"):
        response = admin.get(f"/api/v1/disclosures/{community.id}/{month}{suffix}")
        assert response.status_code == 404, response.get_data(as_text=True)
        assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/flags", "/api/v1/fraud-alerts"])
def test_flags_and_alerts_filter_by_a_community_id_in_the_query_string(world, path):
    community = world.community()
    supervisor = world.staff("supervisor", community=community)
    response = supervisor.get(path, query_string={"community_id": community.id})
    assert response.status_code == 200, response.json
    assert response.json == []
    other = world.community()
    assert supervisor.get(path, query_string={"community_id": other.id}).status_code in (403, 404)
