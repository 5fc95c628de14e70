"""Hostile input to every foundation endpoint: always a 4xx JSON error, and nothing written.

"Nothing written" is checked by counting the rows of every table before and after each request.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import inspect, text

from ledger import Unit
from service.extensions import db

HUGE = 10**30
BIG_ID = 2**63  # one past the largest BIGINT
# Amount values that are not a whole number of coins in range.
BAD_AMOUNTS = [0, 1.5, 40.0, "40", "abc", None, True, False, [], {}, 10**30, -(10**30), 1_000_001, 2**63]
# JSON that Python's parser accepts but no strict client sends.
RAW_AMOUNTS = ["NaN", "Infinity", "-Infinity", "1e400", "4e1"]


# Failed sign-ins are counted on purpose (the account lockout); that is not data written by a request.
NOT_DATA = {"sign_in_guards"}


def row_counts(app) -> dict[str, int]:
    """Rows of every table of the database (but NOT_DATA), in one query."""
    with app.app_context():
        names = sorted(set(inspect(db.engine).get_table_names()) - NOT_DATA)
        query = " UNION ALL ".join(f"SELECT '{n}', COUNT(*) FROM \"{n}\"" for n in names)
        with db.engine.connect() as connection:
            return dict(connection.execute(text(query)).all())


def assert_error_body(response, status: int | None = None, code: str | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if status is not None:
        assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details", "request_id"}, body
    assert body["error"]["request_id"] == response.headers["X-Request-Id"]
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


class Guard:
    """Sends a request and asserts it was refused with a JSON error and wrote nothing."""

    def __init__(self, app):
        self.app = app

    def refuses(self, send, status: int | None = None, code: str | None = None) -> dict:
        before = row_counts(self.app)
        response = send()
        error = assert_error_body(response, status, code)
        after = row_counts(self.app)
        assert after == before, {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        return error


@pytest.fixture
def scene(world, app):
    community = world.community()
    other = world.community()
    household = world.household(community)
    member = world.member(community, household=household)
    world.credit(member, 50)
    admin = world.admin(community)
    adjusted = admin.post(
        "/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 5, "reason": "开户"}
    ).json
    return SimpleNamespace(
        community=community,
        other=other,
        household=household,
        member=member,
        admin=admin,
        city=world.admin(),
        adjustment_id=adjusted["id"],
        station=world.station(community),
        guard=Guard(app),
        world=world,
    )


def adjustment(scene, **changes) -> dict:
    body = {"member_id": scene.member.id, "unit": "COIN", "amount": 10, "reason": "更正"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


# -- amounts -------------------------------------------------------------------------------


def test_adjustment_amounts_that_are_not_whole_coins_are_refused(scene):
    for amount in BAD_AMOUNTS:
        scene.guard.refuses(
            lambda a=amount: scene.admin.post("/api/v1/adjustments", adjustment(scene, amount=a)), 422
        )
    for raw in RAW_AMOUNTS:
        body = json.dumps(adjustment(scene)).replace('"amount": 10', f'"amount": {raw}')
        scene.guard.refuses(
            lambda b=body: scene.admin.post("/api/v1/adjustments", data=b, content_type="application/json"),
            422,
        )
    assert scene.world.balance(scene.member) == 55


def test_adjustment_that_overdraws_the_wallet_is_refused_and_writes_nothing(scene):
    scene.guard.refuses(
        lambda: scene.admin.post("/api/v1/adjustments", adjustment(scene, amount=-56)),
        409,
        "insufficient_balance",
    )
    assert scene.world.balance(scene.member) == 55


def test_adjustment_with_bad_fields_is_refused(scene):
    post = scene.admin.post
    cases = [
        (adjustment(scene, unit="EUR"), 422),
        (adjustment(scene, unit="coin"), 422),
        (adjustment(scene, reason=...), 422),
        (adjustment(scene, reason=""), 422),
        (adjustment(scene, reason="x" * 501), 422),
        (adjustment(scene, amount=...), 422),
        (adjustment(scene, member_id=...), 422),  # neither wallet
        (adjustment(scene, household_id=scene.household.id), 422),  # both wallets
        (adjustment(scene, member_id=..., household_id=scene.household.id, unit="HOUR"), 422),
        (adjustment(scene, member_id=999_999), 404),
        (adjustment(scene, member_id=..., household_id=999_999), 404),
        (adjustment(scene, member_id=0), 422),
        (adjustment(scene, member_id=-3), 422),
        (adjustment(scene, member_id=str(scene.member.id)), 422),
        (adjustment(scene, member_id=float(scene.member.id)), 422),
        (adjustment(scene, member_id=True), 422),
        (adjustment(scene, member_id=HUGE), 422),
        (adjustment(scene, surprise="field"), 422),
        ({}, 422),
    ]
    for body, status in cases:
        scene.guard.refuses(lambda b=body: post("/api/v1/adjustments", b), status)


def test_adjustment_without_or_with_an_overlong_idempotency_key_is_refused(scene):
    client, headers = scene.admin.client, scene.admin.headers
    scene.guard.refuses(
        lambda: client.post("/api/v1/adjustments", json=adjustment(scene), headers=headers),
        400,
        "idempotency_key_required",
    )
    scene.guard.refuses(
        lambda: scene.admin.post(
            "/api/v1/adjustments", adjustment(scene), headers={"Idempotency-Key": "k" * 101}
        ),
        400,
        "idempotency_key_invalid",
    )


def test_same_idempotency_key_replays_or_conflicts_and_writes_nothing_more(scene):
    key = uuid.uuid4().hex
    first = scene.admin.post("/api/v1/adjustments", adjustment(scene), key=key)
    assert first.status_code == 201
    before = row_counts(scene.guard.app)
    again = scene.admin.post("/api/v1/adjustments", adjustment(scene), key=key)
    assert (again.status_code, again.json, again.headers.get("Idempotent-Replayed")) == (
        201,
        first.json,
        "true",
    )
    assert row_counts(scene.guard.app) == before
    scene.guard.refuses(
        lambda: scene.admin.post("/api/v1/adjustments", adjustment(scene, amount=11), key=key),
        409,
        "idempotency_conflict",
    )
    assert scene.world.balance(scene.member) == 65


# -- bodies that are not JSON objects ------------------------------------------------------

WRITES = [
    ("post", "/api/v1/adjustments"),
    ("post", "/api/v1/communities"),
    ("patch", "/api/v1/communities/{community}"),
    ("post", "/api/v1/stations"),
    ("post", "/api/v1/supermarkets"),
    ("post", "/api/v1/staff"),
    ("post", "/api/v1/members"),
    ("post", "/api/v1/households"),
    ("post", "/api/v1/transactions/{adjustment}/reverse"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/resident-token"),
]


def test_every_write_refuses_wrong_content_type_malformed_json_and_non_objects(scene):
    for method, template in WRITES:
        path = template.format(community=scene.community.id, adjustment=scene.adjustment_id)
        send = getattr(scene.city if "communities" in path else scene.admin, method)
        bad_bodies = [
            ("amount=5&reason=x", "application/x-www-form-urlencoded", 415),
            ('{"amount": 5}', "text/plain", 415),
            ("<amount>5</amount>", "application/xml", 415),
            ('{"amount": ', "application/json", 400),
            ("{'amount': 5}", "application/json", 400),
            ("[1, 2]", "application/json", 422),
            ("42", "application/json", 422),
            ('"text"', "application/json", 422),
            ("null", "application/json", 422),
        ]
        for data, content_type, status in bad_bodies:
            scene.guard.refuses(
                lambda d=data, c=content_type, s=send, p=path: s(p, data=d, content_type=c),
                status,
            )
        # An empty body is missing every required field (a PATCH has none, so nothing to refuse).
        if method == "post":
            scene.guard.refuses(lambda s=send, p=path: s(p), 422)


def test_unknown_fields_are_refused_everywhere(scene):
    valid = {
        "/api/v1/adjustments": adjustment(scene),
        "/api/v1/communities": {"code": "NEW1", "name": "新社区"},
        f"/api/v1/communities/{scene.community.id}": {"name": "改名"},
        "/api/v1/stations": {"community_id": scene.community.id, "code": "ST9", "name": "站"},
        "/api/v1/supermarkets": {"community_id": scene.community.id, "code": "SM9", "name": "超市"},
        "/api/v1/staff": {
            "username": "newstaff",
            "password": "long-enough-1",
            "name": "某",
            "role": "admin",
            "community_id": scene.community.id,
        },
        "/api/v1/members": {"community_id": scene.community.id, "name": "李四"},
        "/api/v1/households": {"community_id": scene.community.id, "name": "李家"},
        f"/api/v1/transactions/{scene.adjustment_id}/reverse": {"reason": "错了"},
        "/api/v1/auth/token": {"username": scene.admin.username, "password": "x"},
        "/api/v1/auth/resident-token": {"card_code": scene.member.card_code, "pin": "000000"},
    }
    for path, body in valid.items():
        caller = scene.city if "communities" in path else scene.admin
        send = caller.patch if path.startswith("/api/v1/communities/") else caller.post
        error = scene.guard.refuses(lambda p=path, b=body, s=send: s(p, {**b, "is_admin": True}), 422)
        assert "is_admin" in error["details"]["fields"]


# -- each resource's own fields ------------------------------------------------------------


def test_community_settings_out_of_range_are_refused(scene):
    create = {"code": "NEW2", "name": "新社区"}
    bad = [
        {"coins_per_hour": -1},
        {"coins_per_hour": 1.5},
        {"coins_per_hour": "10"},
        {"coins_per_hour": True},
        {"coins_per_hour": HUGE},
        {"daily_cap_minutes": 0},
        {"daily_cap_minutes": 24 * 60 + 1},
        {"late_entry_days": -1},
        {"notice_period_days": 61},
        {"hour_storage_cap_minutes": 0},
        {"hour_storage_cap_minutes": HUGE},
        {"hour_storage_cap_minutes": 2**40},
        {"min_spend_age": 121},
        {"coin_expiry_month_day": "13-01"},
        {"coin_expiry_month_day": "12-32"},
        {"four_eyes": "maybe"},
        {"four_eyes": None},
        {"name": ""},
        {"name": "名" * 101},
    ]
    for changes in bad:
        scene.guard.refuses(lambda c=changes: scene.city.post("/api/v1/communities", {**create, **c}), 422)
        scene.guard.refuses(
            lambda c=changes: scene.city.patch(f"/api/v1/communities/{scene.community.id}", c), 422
        )
    for code in ["", "bad code", "名字", "x" * 33]:
        scene.guard.refuses(lambda c=code: scene.city.post("/api/v1/communities", {**create, "code": c}), 422)
    taken = {**create, "code": scene.community.code}
    scene.guard.refuses(lambda: scene.city.post("/api/v1/communities", taken), 409, "community_code_taken")
    scene.guard.refuses(lambda: scene.city.patch("/api/v1/communities/999999", {"name": "x"}), 404)


def test_places_with_bad_fields_are_refused(scene):
    for path in ("/api/v1/stations", "/api/v1/supermarkets"):
        base = {"community_id": scene.community.id, "code": "P1", "name": "地方"}
        for community_id, status in [
            (0, 422),
            (-1, 422),
            ("1", 422),
            (1.5, 422),
            (True, 422),
            (None, 422),
            (HUGE, 422),
            (999_999, 404),
        ]:
            scene.guard.refuses(
                lambda p=path, c=community_id, b=base: scene.city.post(p, {**b, "community_id": c}), status
            )
        for changes in [
            {"code": "has space"},
            {"code": ""},
            {"name": ""},
            {"name": ...},
            {"address": "x" * 201},
        ]:
            body = {k: v for k, v in {**base, **changes}.items() if v is not ...}
            scene.guard.refuses(lambda p=path, b=body: scene.admin.post(p, b), 422)
    scene.guard.refuses(
        lambda: scene.admin.post(
            "/api/v1/stations",
            {"community_id": scene.community.id, "code": scene.station.code, "name": "重名"},
        ),
        409,
        "station_code_taken",
    )


def test_staff_with_bad_fields_are_refused(scene):
    base = {
        "username": "clerk1",
        "password": "long-enough-1",
        "name": "某",
        "role": "supervisor",
        "community_id": scene.community.id,
    }
    cases = [
        ({"username": "no spaces"}, 422),
        ({"username": "ab"}, 422),
        ({"username": "x" * 65}, 422),
        ({"password": "short"}, 422),
        ({"password": 12345678}, 422),
        ({"role": "resident"}, 422),
        ({"role": "root"}, 422),
        ({"community_id": 999_999}, 404),
        ({"community_id": None}, 422),
        ({"role": "cashier"}, 422),
        ({"role": "station_staff"}, 422),
        ({"role": "cashier", "supermarket_id": 999_999}, 422),
        ({"username": scene.admin.username}, 409),
    ]
    for changes, status in cases:
        scene.guard.refuses(lambda c=changes: scene.admin.post("/api/v1/staff", {**base, **c}), status)


def test_members_and_households_with_bad_fields_are_refused(scene):
    base = {"community_id": scene.community.id, "name": "王五"}
    cases = [
        ({"community_id": 999_999}, 404),
        ({"community_id": "1"}, 422),
        ({"community_id": None}, 422),
        ({"name": ""}, 422),
        ({"name": None}, 422),
        ({"phone": "call me"}, 422),
        ({"phone": 13800000000}, 422),
        ({"pin": "12"}, 422),
        ({"pin": "123456789"}, 422),
        ({"pin": "abcd"}, 422),
        ({"pin": 1234}, 422),
        ({"national_id": "123"}, 422),
        ({"national_id": "x" * 19}, 422),
        ({"birth_date": "2099-01-01"}, 422),
        ({"birth_date": "yesterday"}, 422),
        ({"household_id": 999_999}, 404),
        ({"household_id": scene.world.household(scene.other).id}, 422),
    ]
    for changes, status in cases:
        scene.guard.refuses(lambda c=changes: scene.admin.post("/api/v1/members", {**base, **c}), status)
    for changes, status in [
        ({"community_id": 999_999}, 404),
        ({"name": ""}, 422),
        ({"address": "x" * 201}, 422),
        ({"community_id": -5}, 422),
    ]:
        scene.guard.refuses(lambda c=changes: scene.admin.post("/api/v1/households", {**base, **c}), status)


def test_reversal_requests_that_cannot_be_honoured_are_refused(scene):
    path = f"/api/v1/transactions/{scene.adjustment_id}/reverse"
    scene.guard.refuses(lambda: scene.admin.post(path, {}), 422)
    scene.guard.refuses(lambda: scene.admin.post(path, {"reason": ""}), 422)
    scene.guard.refuses(
        lambda: scene.admin.client.post(path, json={"reason": "x"}, headers=scene.admin.headers),
        400,
        "idempotency_key_required",
    )
    scene.guard.refuses(lambda: scene.admin.post("/api/v1/transactions/999999/reverse", {"reason": "x"}), 404)
    reversal = scene.admin.post(path, {"reason": "录错了"})
    assert reversal.status_code == 201
    scene.guard.refuses(lambda: scene.admin.post(path, {"reason": "再撤"}), 409, "already_reversed")
    scene.guard.refuses(
        lambda: scene.admin.post(f"/api/v1/transactions/{reversal.json['id']}/reverse", {"reason": "反撤"}),
        422,
        "not_directly_reversible",
    )
    assert scene.world.balance(scene.member) == 50


def test_sign_in_with_bad_fields_is_refused(scene):
    client = scene.admin.client
    for body, status in [
        ({}, 422),
        ({"username": scene.admin.username}, 422),
        ({"username": 5, "password": []}, 422),
        ({"username": "x" * 65, "password": "x"}, 422),
        ({"username": scene.admin.username, "password": "x" * 201}, 422),
        ({"username": scene.admin.username, "password": "wrong-password"}, 401),
        ({"username": "nobody", "password": "whatever-1"}, 401),
    ]:
        scene.guard.refuses(lambda b=body: client.post("/api/v1/auth/token", json=b), status)
    for body, status in [
        ({"card_code": scene.member.card_code}, 422),
        ({"card_code": scene.member.card_code, "pin": "123456789"}, 422),
        ({"card_code": "x" * 65, "pin": "1234"}, 422),  # up to 64 typed, with spaces or dashes
        ({"phone": "13800000000", "card_code": "x", "pin": "1234"}, 422),  # one identity only
        ({"card_code": scene.member.card_code, "pin": 246810}, 422),
        ({"card_code": scene.member.card_code, "pin": "000000"}, 401),
        ({"card_code": "nope", "pin": "246810"}, 401),
    ]:
        scene.guard.refuses(lambda b=body: client.post("/api/v1/auth/resident-token", json=b), status)


# -- reads ---------------------------------------------------------------------------------


def test_unknown_and_impossible_ids_are_not_found(scene):
    member = scene.member.id
    for path in [
        "/api/v1/members/999999",
        f"/api/v1/members/{BIG_ID}",
        f"/api/v1/members/{HUGE}",
        "/api/v1/members/0",
        "/api/v1/members/-1",
        "/api/v1/members/abc",
        "/api/v1/members/999999/balance",
        "/api/v1/members/999999/statement",
        "/api/v1/households/999999",
        f"/api/v1/households/{HUGE}",
        "/api/v1/transactions/999999",
        f"/api/v1/transactions/{BIG_ID}",
        "/api/v1/transactions/1.5",
        "/api/v1/communities/999999",
        "/api/v1/nothing-here",
        f"/api/v1/members/{member}/nothing",
    ]:
        caller = scene.city if "communities" in path else scene.admin
        scene.guard.refuses(lambda p=path, c=caller: c.get(p), 404)


def test_bad_query_parameters_are_refused(scene):
    member = scene.member.id
    for query in [
        "limit=0",
        "limit=501",
        "limit=abc",
        f"limit={HUGE}",
        "offset=-1",
        f"offset={HUGE}",
        "community_id=abc",
        "community_id=0",
        f"community_id={HUGE}",
        "card_code=" + "x" * 33,
    ]:
        scene.guard.refuses(lambda q=query: scene.admin.get(f"/api/v1/members?{q}"), 422)
    for query in ["limit=0", "limit=1.5", "before=0", "before=-5", f"before={HUGE}", "unit=EUR"]:
        scene.guard.refuses(lambda q=query: scene.admin.get(f"/api/v1/members/{member}/statement?{q}"), 422)


def test_methods_that_do_not_exist_are_refused_as_json(scene):
    for method, path in [
        ("put", "/api/v1/adjustments"),
        ("delete", f"/api/v1/members/{scene.member.id}"),
        ("get", "/api/v1/adjustments"),
        ("delete", f"/api/v1/transactions/{scene.adjustment_id}"),
        ("patch", f"/api/v1/transactions/{scene.adjustment_id}"),
    ]:
        scene.guard.refuses(lambda m=method, p=path: getattr(scene.admin, m)(p), 405, "method_not_allowed")


def test_statement_and_balance_pages_stay_consistent_with_the_refusals(scene):
    """After all that, the member's statement holds exactly the two postings that were accepted."""
    statement = scene.admin.get(f"/api/v1/members/{scene.member.id}/statement?unit=COIN").json
    assert [line["amount"] for line in statement["lines"]] == [5, 50]
    assert scene.admin.get(f"/api/v1/members/{scene.member.id}/balance").json["coins"] == 55
    assert scene.world.balance(scene.member, Unit.HOUR) == 0
    assert scene.world.invariants() == {}
