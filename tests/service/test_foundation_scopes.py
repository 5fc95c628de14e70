"""Role scopes: a token of one community never reads or writes another community's data;
supervisors only read; residents see only themselves; cashiers and station staff cannot adjust."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.service.test_foundation_hostile_input import Guard, assert_error_body


@pytest.fixture
def two_communities(world, app):
    def side():
        community = world.community()
        household = world.household(community)
        member = world.member(community, household=household)
        neighbour = world.member(community, name="李四")
        world.credit(member, 100)
        admin = world.admin(community)
        adjustment = admin.post(
            "/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 7, "reason": "迁移"}
        ).json["id"]
        station = world.station(community)
        supermarket = world.supermarket(community)
        return SimpleNamespace(
            community=community,
            household=household,
            member=member,
            neighbour=neighbour,
            admin=admin,
            adjustment=adjustment,
            station=station,
            supermarket=supermarket,
        )

    return SimpleNamespace(a=side(), b=side(), guard=Guard(app), world=world)


def reads_of(side) -> list[str]:
    return [
        f"/api/v1/members/{side.member.id}",
        f"/api/v1/members/{side.member.id}/balance",
        f"/api/v1/members/{side.member.id}/statement",
        f"/api/v1/transactions/{side.adjustment}",
        f"/api/v1/households/{side.household.id}",
        f"/api/v1/communities/{side.community.id}",
        f"/api/v1/members?community_id={side.community.id}",
    ]


def writes_into(side) -> list[tuple[str, str, dict]]:
    community_id = side.community.id
    return [
        (
            "post",
            "/api/v1/adjustments",
            {"member_id": side.member.id, "unit": "COIN", "amount": 5, "reason": "x"},
        ),
        (
            "post",
            "/api/v1/adjustments",
            {"household_id": side.household.id, "unit": "COIN", "amount": 5, "reason": "x"},
        ),
        ("post", f"/api/v1/transactions/{side.adjustment}/reverse", {"reason": "x"}),
        ("post", "/api/v1/members", {"community_id": community_id, "name": "外人"}),
        ("post", "/api/v1/households", {"community_id": community_id, "name": "外户"}),
        ("post", "/api/v1/stations", {"community_id": community_id, "code": "X1", "name": "站"}),
        ("post", "/api/v1/supermarkets", {"community_id": community_id, "code": "X2", "name": "超市"}),
        ("patch", f"/api/v1/communities/{community_id}", {"coins_per_hour": 99}),
        (
            "post",
            "/api/v1/staff",
            {
                "username": "intruder",
                "password": "long-enough-1",
                "name": "某",
                "role": "supervisor",
                "community_id": community_id,
            },
        ),
    ]


def test_an_administrator_cannot_read_another_communitys_data(two_communities):
    a, b, guard = two_communities.a, two_communities.b, two_communities.guard
    for path in reads_of(a):
        assert a.admin.get(path).status_code == 200, path
    for path in reads_of(b):
        guard.refuses(lambda p=path: a.admin.get(p), 404)


def test_an_administrator_cannot_write_into_another_community(two_communities):
    a, b, guard = two_communities.a, two_communities.b, two_communities.guard
    for method, path, body in writes_into(b):
        error = guard.refuses(lambda m=method, p=path, j=body: getattr(a.admin, m)(p, j))
        assert error["code"] in ("not_found", "forbidden"), (path, error)
    assert two_communities.world.balance(b.member) == 107


def test_lists_show_only_the_callers_community(two_communities):
    a, b = two_communities.a, two_communities.b
    for path, ids in [
        ("/api/v1/members", {a.member.id, a.neighbour.id}),
        ("/api/v1/communities", {a.community.id}),
        ("/api/v1/stations", {a.station.id}),
        ("/api/v1/supermarkets", {a.supermarket.id}),
    ]:
        listed = {row["id"] for row in a.admin.get(path).json}
        assert listed == ids, path
    found = a.admin.post("/api/v1/members/lookup", {"card_code": b.member.card_code}).json
    assert found == []


def test_a_city_administrator_sees_every_community(two_communities, world):
    city = world.admin()
    for side in (two_communities.a, two_communities.b):
        for path in reads_of(side):
            assert city.get(path).status_code == 200, path


def test_a_supervisor_reads_but_never_writes(two_communities, world):
    a, guard = two_communities.a, two_communities.guard
    supervisor = world.staff("supervisor", community=a.community)
    for path in reads_of(a):
        assert supervisor.get(path).status_code == 200, path
    for method, path, body in writes_into(a):
        guard.refuses(lambda m=method, p=path, j=body: getattr(supervisor, m)(p, j), 403)


@pytest.mark.parametrize("role", ["cashier", "station_staff"])
def test_cashiers_and_station_staff_cannot_adjust_or_reverse(two_communities, world, role):
    a, guard = two_communities.a, two_communities.guard
    staff = world.staff(
        role,
        station=a.station if role == "station_staff" else None,
        supermarket=a.supermarket if role == "cashier" else None,
    )
    adjust = {"member_id": a.member.id, "unit": "COIN", "amount": 5, "reason": "x"}
    guard.refuses(lambda: staff.post("/api/v1/adjustments", adjust), 403)
    guard.refuses(lambda: staff.post(f"/api/v1/transactions/{a.adjustment}/reverse", {"reason": "x"}), 403)
    guard.refuses(lambda: staff.patch(f"/api/v1/communities/{a.community.id}", {"coins_per_hour": 1}), 403)
    guard.refuses(
        lambda: staff.post(
            "/api/v1/staff",
            {
                "username": "sneaky",
                "password": "long-enough-1",
                "name": "某",
                "role": "admin",
                "community_id": a.community.id,
            },
        ),
        403,
    )
    # ... station staff still read members of their own community; cashiers have only the counter
    # look-up (SPEC §3: masked name and coins, nothing else personal)
    own = staff.get(f"/api/v1/members/{a.member.id}/balance").status_code
    assert own == (200 if role == "station_staff" else 403)
    other = staff.get(f"/api/v1/members/{two_communities.b.member.id}/balance").status_code
    assert other == (404 if role == "station_staff" else 403)


def test_a_resident_sees_only_themself(two_communities, world):
    a, b, guard = two_communities.a, two_communities.b, two_communities.guard
    resident = world.resident(a.member)
    for path in [
        f"/api/v1/members/{a.member.id}",
        f"/api/v1/members/{a.member.id}/balance",
        f"/api/v1/members/{a.member.id}/statement",
        f"/api/v1/transactions/{a.adjustment}",
        "/api/v1/auth/me",
    ]:
        assert resident.get(path).status_code == 200, path
    assert resident.get("/api/v1/auth/me").json["member_id"] == a.member.id
    for path in [
        f"/api/v1/members/{a.neighbour.id}",
        f"/api/v1/members/{a.neighbour.id}/balance",
        f"/api/v1/members/{a.neighbour.id}/statement",
        *reads_of(b)[:4],
    ]:
        guard.refuses(lambda p=path: resident.get(p), 404)
    for path in [
        "/api/v1/members",
        "/api/v1/communities",
        "/api/v1/staff",
        f"/api/v1/households/{a.household.id}",
    ]:
        guard.refuses(lambda p=path: resident.get(p), 403)
    for method, path, body in writes_into(a):
        guard.refuses(lambda m=method, p=path, j=body: getattr(resident, m)(p, j), 403)


def test_a_resident_cannot_read_a_neighbours_transaction(two_communities, world):
    a = two_communities.a
    admin = a.admin
    other = admin.post(
        "/api/v1/adjustments", {"member_id": a.neighbour.id, "unit": "COIN", "amount": 3, "reason": "x"}
    ).json["id"]
    resident = world.resident(a.member)
    assert_error_body(resident.get(f"/api/v1/transactions/{other}"), 404)
    assert world.resident(a.neighbour).get(f"/api/v1/transactions/{other}").status_code == 200


def test_requests_without_a_valid_token_are_unauthorised(two_communities, app):
    a, guard = two_communities.a, two_communities.guard
    client = app.test_client()
    for headers in [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Basic {a.admin.token}"},
        {"Authorization": a.admin.token},
    ]:
        guard.refuses(lambda h=headers: client.get(f"/api/v1/members/{a.member.id}", headers=h), 401)
        guard.refuses(
            lambda h=headers: client.post(
                "/api/v1/adjustments",
                headers={**h, "Idempotency-Key": "k1"},
                json={"member_id": a.member.id, "unit": "COIN", "amount": 5, "reason": "x"},
            ),
            401,
        )
