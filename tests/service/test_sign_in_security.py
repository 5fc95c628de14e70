"""Sign-in cannot be brute-forced (issue #9 §1), and sessions are not API tokens (§4)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select, update

from service import create_app
from service.audit.models import AuditEvent
from service.auth.lockout import lock_duration
from service.auth.models import SignInGuard
from service.extensions import db
from tests.factories import PASSWORD, PIN, World
from tests.web.pages import hidden_fields, post_form, text_of


def make_app(database_url, **config):
    return create_app({"DATABASE_URL": database_url, "TESTING": True, "REDIS_URL": None, **config})


@pytest.fixture
def limited_app(database_url):
    """A tight rate limit and a lockout out of reach: only the rate limit acts."""
    app = make_app(database_url, LOGIN_RATE_LIMIT="3 per minute", LOGIN_LOCKOUT_AFTER=1000)
    yield app
    app.extensions["greencoin_db"][0].dispose()


@pytest.fixture
def lockout_app(database_url):
    """No rate limit in reach: only the account lockout (default 10 failures) acts."""
    app = make_app(database_url, LOGIN_RATE_LIMIT="1000 per minute", LOGIN_ADDRESS_RATE_LIMIT="1000 per minute")
    yield app
    app.extensions["greencoin_db"][0].dispose()


def from_address(n: int) -> dict:
    return {"REMOTE_ADDR": f"198.51.100.{n}"}


def page_sign_in(client, path, data, address=1):
    html = text_of(client.get(path))
    return client.post(path, data={**hidden_fields(html), **data}, environ_base=from_address(address))


def test_padding_case_or_an_unused_field_never_earns_a_fresh_limit_on_the_pages(limited_app):
    world = World(limited_app)
    member = world.member(world.community(), card_code="RT5W2345EFGH6789")
    client = limited_app.test_client()
    code = member.card_code
    variants = [
        {"card_code": code, "pin": "000000"},
        {"card_code": f"  {code}  ", "pin": "000001"},
        {"card_code": code, "pin": "000002", "username": "decoy"},
        {"card_code": code.lower(), "pin": "000003"},
    ]
    statuses = [page_sign_in(client, "/sign-in/resident", v).status_code for v in variants]
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429, statuses


def test_padding_or_an_extra_field_never_earns_a_fresh_limit_in_the_api(limited_app):
    world = World(limited_app)
    staff = world.admin(world.community())
    client = limited_app.test_client()
    bodies = [
        {"username": staff.username, "password": "wrong-1"},
        {"username": f" {staff.username} ", "password": "wrong-2"},
        {"username": staff.username, "password": "wrong-3", "card_code": "decoy"},
        {"username": f"{staff.username}\t", "password": "wrong-4"},
    ]
    statuses = [client.post("/api/v1/auth/token", json=b).status_code for b in bodies]
    assert statuses == [401, 401, 422, 401], statuses  # an unknown field is refused by the schema, uncounted
    refused = client.post("/api/v1/auth/token", json={"username": f"  {staff.username}", "password": "x"})
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_requests"
    assert refused.json["error"]["details"]["retry_at"]


def test_an_account_locks_after_ten_failures_from_any_address_and_refuses_even_the_right_pin(lockout_app):
    world = World(lockout_app)
    member = world.member(world.community(), card_code="KM7Q2345EFGH6789")
    client = lockout_app.test_client()

    def attempt(pin, n):
        return client.post(
            "/api/v1/auth/resident-token", json={"card_code": member.card_code, "pin": pin}, environ_base=from_address(n)
        )

    assert [attempt(f"00000{i % 10}", i).status_code for i in range(9)] == [401] * 9
    locked = attempt("999999", 9)
    assert locked.status_code == 429 and locked.json["error"]["code"] == "account_locked"
    retry_at = dt.datetime.fromisoformat(locked.json["error"]["details"]["retry_at"])
    assert dt.timedelta(seconds=50) < retry_at - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=60)
    right = attempt(PIN, 200)
    assert right.status_code == 429 and right.json["error"]["code"] == "account_locked"
    # The same lock holds on the page, for the card typed differently, in Chinese.
    page = page_sign_in(client, "/sign-in/resident", {"identity": member.card_code.lower(), "pin": PIN}, address=77)
    assert page.status_code == 429 and "之后再试" in text_of(page)
    with lockout_app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.sign_in_locked")).all()
        assert [(e.target_type, e.target_id, e.actor_role) for e in events] == [("member", member.id, "system")]
        # The lock ends: the right PIN works and the count starts again.
        db.run(lambda s: s.execute(update(SignInGuard).values(locked_until=dt.datetime.now(dt.UTC))))
    assert attempt(PIN, 201).status_code == 201
    with lockout_app.app_context():
        assert db.session.scalar(select(SignInGuard.failures).where(SignInGuard.account_key == f"member:{member.id}")) == 0


def test_a_staff_account_locks_on_the_pages_too_and_says_so_in_english(lockout_app):
    world = World(lockout_app)
    staff = world.admin(world.community())
    client = lockout_app.test_client()
    client.get("/lang/en")
    for n in range(10):
        response = page_sign_in(client, "/sign-in/staff", {"username": staff.username, "password": f"nope-{n}"}, n)
    assert response.status_code == 429 and "You can try again after" in text_of(response)
    api = client.post("/api/v1/auth/token", json={"username": staff.username, "password": PASSWORD})
    assert api.status_code == 429 and api.json["error"]["details"]["retry_at"]


def test_the_lock_doubles_with_every_further_failure_up_to_a_day():
    durations = [lock_duration(n, after=10, base_seconds=60) for n in (9, 10, 11, 12, 40)]
    assert durations == [None, dt.timedelta(seconds=60), dt.timedelta(seconds=120), dt.timedelta(seconds=240),
                         dt.timedelta(days=1)]


def test_unknown_accounts_lock_like_known_ones(lockout_app):
    client = lockout_app.test_client()
    statuses = [
        client.post("/api/v1/auth/token", json={"username": "no-such-person", "password": "x" * 8}).status_code
        for _ in range(10)
    ]
    assert statuses == [401] * 9 + [429]


def test_residents_sign_in_with_phone_or_any_spelling_of_the_card_code(app, world):
    community = world.community()
    member = world.member(community, phone="13812345678")
    client = app.test_client()
    by_phone = client.post("/api/v1/auth/resident-token", json={"phone": "138 1234 5678", "pin": PIN})
    assert by_phone.status_code == 201, by_phone.json
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {by_phone.json['token']}"})
    assert me.json["member_id"] == member.id
    page = page_sign_in(client, "/sign-in/resident", {"identity": "+86 138-1234-5678", "pin": PIN})
    assert page.status_code == 302
    wrong = client.post("/api/v1/auth/resident-token", json={"phone": "13812345678", "pin": "000000"})
    assert wrong.status_code == 401


def test_a_phone_shared_by_two_residents_does_not_sign_either_in(app, world):
    community = world.community()
    world.member(community, phone="13900001111")
    world.member(community, phone="13900001111")
    response = app.test_client().post("/api/v1/auth/resident-token", json={"phone": "13900001111", "pin": PIN})
    assert response.status_code == 401


def test_card_codes_match_in_any_case_with_spaces_and_dashes(app, world):
    community = world.community()
    member = world.member(community, card_code="ABCD2345EFGH6789")
    client = app.test_client()
    for typed in ("abcd2345efgh6789", "ABCD-2345-EFGH-6789", " abcd 2345 efgh 6789 "):
        response = client.post("/api/v1/auth/resident-token", json={"card_code": typed, "pin": PIN})
        assert response.status_code == 201, (typed, response.json)
    assert member.id


def _cookie_values(app, client) -> dict:
    cookie = client.get_cookie("session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_the_session_cookie_holds_nothing_usable_as_an_api_token(app, world):
    community = world.community()
    admin = world.admin(community)
    client = app.test_client()
    response = post_form(client, "/sign-in/staff", {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 302
    values = _cookie_values(app, client)
    assert "token" not in values
    secrets = [v for v in values.values() if isinstance(v, str)]
    assert secrets
    for value in secrets:
        me = app.test_client().get("/api/v1/auth/me", headers={"Authorization": f"Bearer {value}"})
        assert me.status_code == 401
    # ... and an API token is no browser session either
    forged = app.test_client()
    with forged.session_transaction() as session:
        session["sid"] = admin.token
    assert forged.get("/office").status_code == 302


def test_authentication_is_one_query(app, world):
    from service.auth.access import principal_for_token

    admin = world.admin(world.community())
    resident = world.resident(world.member(world.community()))
    statements = []
    with app.app_context():
        engine = db.engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            for caller in (admin, resident):
                statements.clear()
                assert principal_for_token(caller.token) is not None
                assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements
        finally:
            event.remove(engine, "before_cursor_execute", listener)
