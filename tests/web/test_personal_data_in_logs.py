"""Issue #9 §3: logs never contain a national ID, PIN, password, token or card code. A full flow
(register, sign in, look up, redeem, at the API and at the counter page) runs against a real HTTP
server, whose access log is what gunicorn would write, and every captured log line is scanned."""

from __future__ import annotations

import json
import logging
import re
import urllib.request
import uuid
from http.cookiejar import CookieJar

from service.members.cards import format_card_code
from service.members.models import Member
from tests.factories import PASSWORD
from tests.web.pages import hidden_fields, stocked_shop

NATIONAL_ID = "53030219850505432X"
PIN = "975310"


def _call(base, method, path, body=None, token=None, key=True):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key and method == "POST":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_a_full_flow_logs_no_personal_data_or_secret(live_server, live_app, live_world, caplog):
    caplog.set_level(logging.DEBUG)
    world, base = live_world, live_server
    community = world.community()
    station = world.station(community)
    shop, products = stocked_shop(world, community, [("OIL1", "食用油", 5, 9)])
    desk = world.staff("station_staff", station=station)
    cashier = world.staff("cashier", supermarket=shop)

    status, member = _call(base, "POST", "/api/v1/members", {
        "community_id": community.id, "name": "孙八", "phone": "13700007777", "national_id": NATIONAL_ID, "pin": PIN,
    }, desk.token)
    assert status == 201, member
    card = member["card_code"]
    world.credit(world._run(lambda s: s.get(Member, member["id"])), 50)
    status, signed = _call(base, "POST", "/api/v1/auth/resident-token", {"card_code": card, "pin": PIN}, key=False)
    assert status == 201, signed
    resident_token = signed["token"]
    assert _call(base, "POST", "/api/v1/auth/resident-token", {"card_code": card, "pin": "000000"}, key=False)[0] == 401
    status, staff_token = _call(base, "POST", "/api/v1/auth/token", {"username": cashier.username, "password": PASSWORD},
                                key=False)
    assert status == 201
    status, found = _call(base, "POST", f"/api/v1/supermarkets/{shop.id}/lookup", {"card_code": card}, cashier.token)
    assert status == 200, found
    status, basket = _call(base, "POST", "/api/v1/redemptions",
                           {"card_code": card, "lines": [{"product_id": products[0].id, "quantity": 1}]}, cashier.token)
    assert status == 201, basket

    # The counter page: sign in, look the card up as typed, try the basket.
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def page(path, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with opener.open(urllib.request.Request(base + path, data=data)) as response:
                return response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.read().decode()

    sign_in = page("/sign-in/staff")
    page("/sign-in/staff", {**hidden_fields(sign_in), "username": cashier.username, "password": PASSWORD})
    counter = page("/counter")
    looked = page("/counter/resident", {**hidden_fields(counter), "card_code": format_card_code(card).lower()})
    assert "masked_name" in looked, looked[:500]

    secrets = {
        "national ID": NATIONAL_ID, "PIN": PIN, "password": PASSWORD, "resident token": resident_token,
        "staff token": staff_token["token"], "card code": card, "printed card code": format_card_code(card),
    }
    logged = "\n".join(record.getMessage() for record in caplog.records)
    # the structured access log (service/telemetry.py) has the route and the method on each line
    assert "'route': '/api/v1/supermarkets/<int:supermarket_id>/lookup'" in logged or "/lookup" in logged, (
        "the server's access log was captured"
    )
    for what, value in secrets.items():
        assert value.lower() not in logged.lower(), f"the logs contain the {what}"
    assert not re.search(r"card_code=", logged)
