"""SPEC §3: each role sees only what its work needs; card codes never in a URL; card codes a person
can type, matched however they are typed."""

from __future__ import annotations

import re

import pytest

from service.members.cards import CARD_ALPHABET, format_card_code, new_card_code, normalise_card_code
from tests.factories import PIN
from tests.web.pages import hidden_fields, staff_browser, stocked_shop, text_of

PERSONAL = ("card_code", "phone", "birth_date", "national_id_on_file", "national_id_masked")


@pytest.fixture
def town(world):
    community = world.community()
    station = world.station(community)
    shop = world.supermarket(community)
    member = world.member(community, phone="13900001234", birth_date=None)
    return community, station, shop, member


def test_a_cashier_lists_no_residents_and_reads_no_resident(world, town):
    community, _station, shop, member = town
    cashier = world.staff("cashier", supermarket=shop)
    for path in ["/api/v1/members", f"/api/v1/members?community_id={community.id}", f"/api/v1/members/{member.id}",
                 f"/api/v1/members/{member.id}/statement", f"/api/v1/members/{member.id}/balance"]:
        assert cashier.get(path).status_code == 403, path
    assert cashier.post("/api/v1/members/lookup", {"card_code": member.card_code}).status_code == 403
    household = world.household(community)
    for path in ["/api/v1/households", f"/api/v1/households/{household.id}",
                 f"/api/v1/households/{household.id}/members"]:
        assert cashier.get(path).status_code == 403, path  # names and addresses
    # ... but has the counter look-up: masked name and coins, nothing else personal.
    found = cashier.post(f"/api/v1/supermarkets/{shop.id}/lookup", {"card_code": member.card_code})
    assert found.status_code == 200, found.json
    assert set(found.json[0]) == {"member_id", "masked_name", "coins", "household_id", "household_coins"}


def test_supervisors_see_residents_without_card_codes_phones_or_birth_dates(world, town):
    community, _station, _shop, member = town
    supervisor = world.staff("supervisor", community=community)
    listed = supervisor.get("/api/v1/members").json
    one = supervisor.get(f"/api/v1/members/{member.id}").json
    for body in [*listed, one]:
        assert body["name"] and not set(PERSONAL) & set(body), body
    assert supervisor.get("/api/v1/members?phone_tail=1234").status_code == 403
    desk = world.staff("station_staff", station=town[1])
    full = desk.get(f"/api/v1/members/{member.id}").json
    assert full["card_code"] == member.card_code and full["phone"] == "13900001234"


def test_card_codes_never_travel_in_a_url(world, town, client):
    _community, station, shop, member = town
    cashier = world.staff("cashier", supermarket=shop)
    query = f"/api/v1/supermarkets/{shop.id}/lookup?card_code={member.card_code}"
    assert cashier.get(query).status_code == 405
    admin = world.admin(town[0])
    found = admin.post("/api/v1/members/lookup", {"card_code": member.card_code})
    assert [m["id"] for m in found.json] == [member.id]
    # GET /members has no card_code filter any more: a card code in the query string finds nobody's card.
    listed = admin.get(f"/api/v1/members?card_code={member.card_code}")
    assert listed.status_code == 422


def test_the_counter_and_desk_pages_look_a_card_up_by_post(app, world, town):
    community, station, _shop, member = town
    shop, _products = stocked_shop(world, community, [("OIL1", "食用油", 30, 5)])
    counter = staff_browser(app, world.staff("cashier", supermarket=shop))
    html = text_of(counter.get("/counter"))
    assert "card_code=" not in html
    looked = counter.post("/counter/resident", data={**hidden_fields(html), "card_code": member.card_code.lower()})
    assert looked.status_code == 200 and looked.json["resident"]["masked_name"], looked.get_data(as_text=True)
    assert counter.get(f"/counter/resident?card_code={member.card_code}").status_code == 405
    desk = staff_browser(app, world.staff("station_staff", station=station))
    html = text_of(desk.get("/desk/members"))
    assert 'hx-get' not in html.split("<h2>")[0], "the desk search must not put what is typed in a URL"
    found = desk.post("/desk/members/search", data={**hidden_fields(html), "q": format_card_code(member.card_code)})
    assert f"/office/members/{member.id}" in text_of(found)


def test_card_codes_are_typeable_with_at_least_80_random_bits():
    codes = {new_card_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) * 5 >= 80 and set(code) <= set(CARD_ALPHABET)
        assert not set(code) & set("OIL U".replace(" ", ""))
        printed = format_card_code(code)
        assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", printed)
        assert normalise_card_code(printed.lower().replace("-", " ")) == code


def test_a_card_is_found_however_it_is_typed_at_the_counter_and_at_sign_in(world, town, client):
    _community, _station, shop, member = town
    cashier = world.staff("cashier", supermarket=shop)
    assert re.fullmatch(f"[{CARD_ALPHABET}]{{16}}", member.card_code)
    typed = " " + format_card_code(member.card_code).lower().replace("0", "o").replace("1", "l") + " "
    found = cashier.post(f"/api/v1/supermarkets/{shop.id}/lookup", {"card_code": typed})
    assert found.status_code == 200 and found.json[0]["member_id"] == member.id
    signed_in = client.post("/api/v1/auth/resident-token", json={"card_code": typed, "pin": PIN})
    assert signed_in.status_code == 201, signed_in.json


def test_old_card_codes_keep_working_after_the_migration(tmp_path):
    """A code issued before (url-safe base64, case-sensitive) is rewritten to the normalised form;
    the printed code, typed as printed, still matches."""
    import sqlalchemy as sa
    from alembic import command

    from service.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0015_sign_in")
    engine = sa.create_engine(url)
    old = "aB-c_9xYzOil0Q1e"
    with engine.begin() as conn:  # a plain engine: SQLite's foreign keys are off, no community needed
        conn.execute(sa.text(
            "INSERT INTO members (id, community_id, name, volunteer_number, card_code, active, created_at) "
            "VALUES (1, 1, '张三', 'V1', :code, 1, '2026-01-01')"), {"code": old})
    command.upgrade(alembic_config(url), "0016_member_cards")
    with engine.connect() as conn:
        stored = conn.scalar(sa.text("SELECT card_code FROM members WHERE id = 1"))
    assert stored == normalise_card_code(old) == normalise_card_code(old.upper())
    engine.dispose()
