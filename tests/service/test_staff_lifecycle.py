"""The lifecycle of staff accounts (issue #9 §6): deactivate, reactivate, reset a password, change
one's own, sign out everywhere; each takes effect at once and is audit-logged."""

from __future__ import annotations

from sqlalchemy import select

from service.audit.models import AuditEvent
from service.extensions import db
from tests.factories import PASSWORD
from tests.web.pages import post_form, staff_browser, text_of


def audit_actions(app, target_id: int, target_type: str = "staff") -> list[str]:
    with app.app_context():
        query = (
            select(AuditEvent.action)
            .where(AuditEvent.target_id == target_id, AuditEvent.target_type == target_type)
            .order_by(AuditEvent.id)
        )
        return list(db.session.scalars(query))


def sign_in(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_deactivation_ends_every_token_and_page_session_at_once_and_reactivation_needs_a_new_sign_in(app, world):
    community = world.community()
    admin = world.admin(community)
    cashier = world.staff("cashier", supermarket=world.supermarket(community))
    browser = staff_browser(app, cashier)
    assert browser.get("/counter").status_code == 200
    response = admin.post(f"/api/v1/staff/{cashier.id}/deactivate")
    assert response.status_code == 200 and response.json["active"] is False
    assert cashier.get("/api/v1/auth/me").status_code == 401
    assert browser.get("/counter").status_code == 302  # back to the sign-in page
    assert sign_in(world.client, cashier.username, PASSWORD).status_code == 401
    assert admin.post(f"/api/v1/staff/{cashier.id}/reactivate").json["active"] is True
    assert cashier.get("/api/v1/auth/me").status_code == 401  # old tokens stay revoked
    assert sign_in(world.client, cashier.username, PASSWORD).status_code == 201
    assert audit_actions(app, cashier.id) == ["staff.deactivate", "staff.reactivate"]


def test_administrators_manage_only_their_own_communitys_staff_and_not_themselves(app, world):
    community, other = world.community(), world.community()
    admin = world.admin(community)
    stranger = world.staff("supervisor", community=other)
    city = world.admin()
    assert admin.post(f"/api/v1/staff/{stranger.id}/deactivate").status_code == 404
    assert admin.post(f"/api/v1/staff/{city.id}/password-reset").status_code == 404
    refused = admin.post(f"/api/v1/staff/{admin.id}/deactivate")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "cannot_deactivate_self"
    supervisor = world.staff("supervisor", community=community)
    assert supervisor.post(f"/api/v1/staff/{admin.id}/deactivate").status_code == 403
    assert city.post(f"/api/v1/staff/{stranger.id}/deactivate").status_code == 200
    assert audit_actions(app, stranger.id) == ["staff.deactivate"]


def test_a_password_reset_gives_a_one_time_password_that_only_lets_them_choose_a_new_one(app, world):
    community = world.community()
    admin = world.admin(community)
    station_staff = world.staff("station_staff", station=world.station(community))
    browser = staff_browser(app, station_staff)
    reset = admin.post(f"/api/v1/staff/{station_staff.id}/password-reset")
    assert reset.status_code == 200 and reset.json["staff"]["must_change_password"] is True
    one_time = reset.json["one_time_password"]
    assert station_staff.get("/api/v1/auth/me").status_code == 401  # every sign-in ended
    assert browser.get("/desk").status_code == 302
    assert sign_in(world.client, station_staff.username, PASSWORD).status_code == 401
    signed = sign_in(world.client, station_staff.username, one_time)
    assert signed.status_code == 201
    auth = {"Authorization": f"Bearer {signed.json['token']}"}
    assert world.client.get("/api/v1/auth/me", headers=auth).json["must_change_password"] is True
    blocked = world.client.get("/api/v1/members", headers=auth)
    assert blocked.status_code == 403 and blocked.json["error"]["code"] == "password_change_required"
    # the pages send them to the password form, whatever they open
    page = app.test_client()
    assert post_form(page, "/sign-in/staff", {"username": station_staff.username, "password": one_time}).location.endswith(
        "/account/password"
    )
    assert page.get("/desk").location.endswith("/account/password")
    change = world.client.post(
        "/api/v1/auth/password", json={"current_password": one_time, "new_password": "a-new-password-1"}, headers=auth
    )
    assert change.status_code == 204, change.json
    assert world.client.get("/api/v1/members", headers=auth).status_code == 200  # this token kept
    assert page.get("/desk").status_code == 302  # the page session was another sign-in: ended
    assert sign_in(world.client, station_staff.username, one_time).status_code == 401
    assert sign_in(world.client, station_staff.username, "a-new-password-1").status_code == 201
    assert audit_actions(app, station_staff.id) == ["staff.password_reset", "staff.password_change"]


def test_changing_ones_own_password_on_the_page_checks_the_current_one(app, world):
    admin = world.admin(world.community())
    browser = staff_browser(app, admin)
    wrong = post_form(browser, "/account/password", {"current_password": "nope-nope", "new_password": "another-pass-9",
                                                      "repeat_password": "another-pass-9"})
    assert wrong.status_code == 401 and "当前密码不对" in text_of(wrong)
    mismatch = post_form(browser, "/account/password", {"current_password": PASSWORD, "new_password": "another-pass-9",
                                                         "repeat_password": "another-pass-8"})
    assert mismatch.status_code == 400
    done = post_form(browser, "/account/password", {"current_password": PASSWORD, "new_password": "another-pass-9",
                                                     "repeat_password": "another-pass-9"})
    assert done.status_code == 302
    assert browser.get("/office").status_code == 200  # this browser stays signed in
    assert admin.get("/api/v1/auth/me").status_code == 401  # the API token was another sign-in
    assert sign_in(world.client, admin.username, "another-pass-9").status_code == 201


def test_sign_out_everywhere_ends_every_token_and_session(app, world):
    community = world.community()
    admin = world.admin(community)
    second = sign_in(world.client, admin.username, PASSWORD).json["token"]
    browser = staff_browser(app, admin)
    result = world.client.post("/api/v1/auth/sign-out-everywhere", headers={"Authorization": f"Bearer {second}"})
    assert result.status_code == 200 and result.json["sessions_revoked"] == 3
    assert admin.get("/api/v1/auth/me").status_code == 401
    assert browser.get("/office").status_code == 302
    member = world.member(community)
    resident = world.resident(member)
    assert post_form(app.test_client(), "/sign-in/resident", {"card_code": member.card_code, "pin": "246810"}).status_code == 302
    page = app.test_client()
    post_form(page, "/sign-in/resident", {"card_code": member.card_code, "pin": "246810"})
    assert post_form(page, "/account/sign-out-everywhere", {}, page="/account").status_code == 302
    assert resident.get("/api/v1/auth/me").status_code == 401
    assert audit_actions(app, admin.id) == ["auth.sign_out_everywhere"]
    assert audit_actions(app, member.id, "member")[-1] == "auth.sign_out_everywhere"


def test_signing_out_revokes_the_api_token(world):
    admin = world.admin(world.community())
    assert admin.post("/api/v1/auth/sign-out").status_code == 204
    assert admin.get("/api/v1/auth/me").status_code == 401
