"""Registration at the desk: every problem of the form in one answer, a real mainland mobile check
(the API's schema and the page share the rule), then the member card to print at once; the card
code never travels in a URL."""

from __future__ import annotations

import re

from service.members.cards import format_card_code
from tests.web.pages import hidden_fields, staff_browser, text_of

TAKEN_ID = "53030219800101123X"


def desk_for(app, world):
    community = world.community()
    desk = staff_browser(app, world.staff("station_staff", station=world.station(community)))
    return community, desk


def register(desk, **form):
    fields = hidden_fields(text_of(desk.get("/desk/members")))
    return desk.post("/desk/members", data={**fields, **form})


def field_errors(html: str) -> dict:
    return dict(re.findall(r'data-testid="field-error-(\w+)">([^<]*)<', html))


def test_every_problem_of_a_registration_is_shown_in_one_answer(app, world):
    community, desk = desk_for(app, world)
    other = world.household(world.community())
    admin = world.admin(community)
    admin.post("/api/v1/members", {"community_id": community.id, "name": "已登记", "national_id": TAKEN_ID})
    answer = register(
        desk, name="", phone="1234567890", national_id=TAKEN_ID, birth_date="2999-01-01",
        household_id=str(other.id), pin="12",
    )
    html = text_of(answer)
    assert answer.status_code == 422
    errors = field_errors(html)
    assert set(errors) == {"name", "phone", "national_id", "birth_date", "household_id", "pin"}, errors
    assert "11" in errors["phone"] and "13" in errors["phone"]  # says what a mobile number is
    assert "已" in errors["national_id"] and "今天" in errors["birth_date"]
    summary = re.search(r'data-testid="error-summary">(.*?)</div>', html, re.S).group(1)
    assert summary.count("<li>") == 6
    assert TAKEN_ID in html  # typed a second ago, put back into the form to correct (a POST answer)


def test_a_household_that_does_not_exist_and_a_bad_id_number_are_reported_together(app, world):
    _community, desk = desk_for(app, world)
    errors = field_errors(text_of(register(desk, name="李四", national_id="123", household_id="999999")))
    assert set(errors) == {"national_id", "household_id"}, errors


def test_registration_goes_straight_to_the_member_card_to_print(app, world):
    community, desk = desk_for(app, world)
    answer = register(desk, name="王五", phone="138 0000 1111")
    html = text_of(answer)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert 'data-testid="member-card"' in html and 'data-testid="new-pin"' in html
    code = re.search(r'data-testid="card-code">([^<]+)<', html).group(1)
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
    assert community.name in html and "王五" in html and "<svg" in html
    assert "member-card.css" in html
    member_link = re.search(r'href="(/office/members/(\d+))"', html)
    # The card page is only ever the answer to a POST: printing again is a form, not a link.
    again = text_of(desk.get(f"/desk/residents/{member_link.group(2)}/account"))
    assert f'action="/desk/residents/{member_link.group(2)}/card"' in again and code not in again
    assert desk.get(f"/desk/residents/{member_link.group(2)}/card").status_code == 405
    reprint = desk.post(f"/desk/residents/{member_link.group(2)}/card", data=hidden_fields(again))
    assert reprint.status_code == 200 and code in text_of(reprint) and 'data-testid="new-pin"' not in text_of(reprint)
    for url in re.findall(r'(?:href|action)="([^"]+)"', html):
        assert code.replace("-", "") not in url.replace("-", "").upper()


def test_the_api_and_the_page_share_the_mainland_mobile_rule(app, world):
    community, desk = desk_for(app, world)
    admin = world.admin(community)
    for bad in ("12800001111", "1380000111", "138000011112", "+1 415 555 0100", "电话"):
        refused = admin.post("/api/v1/members", {"community_id": community.id, "name": "赵六", "phone": bad})
        assert refused.status_code == 422, bad
        assert "phone" in field_errors(text_of(register(desk, name="赵六", phone=bad))), bad
    made = admin.post("/api/v1/members", {"community_id": community.id, "name": "赵六", "phone": "+86 139-0000-1111"})
    assert made.status_code == 201 and made.json["phone"] == "13900001111"
    page = text_of(desk.get("/desk/members"))
    assert 'pattern="1[3-9][0-9]{9}"' in page and "novalidate" in page


def test_a_replaced_card_can_be_printed_from_the_account_page(app, world):
    community, desk = desk_for(app, world)
    member = world.member(community, name="孙七")
    page = text_of(desk.get(f"/desk/residents/{member.id}/account"))
    replaced = desk.post(f"/desk/residents/{member.id}/card-replacement",
                         data={**hidden_fields(page), "reason": "丢失"})
    html = text_of(replaced)
    new_code = re.search(r'data-testid="new-card">.*?<code>([^<]+)</code>', html, re.S).group(1)
    assert new_code != format_card_code(member.card_code)
    assert f'action="/desk/residents/{member.id}/card"' in html
