"""The supervision page (村务监督): a supervisor reads every record and award with who recorded and
approved it, filters by person and month, pages back, and flags either kind; others are turned away."""

from __future__ import annotations

from tests.service.volunteering.support import at, build_desk, record_body
from tests.web.pages import give_award, hidden_fields, staff_browser, text_of


def _records(desk, n: int, *, member=None) -> list[int]:
    ids = []
    for i in range(n):
        body = record_body(desk, at(3 + i, 1), at(3 + i, 2), evidence=f"签到表{i}")
        if member is not None:
            body["volunteer_id"] = member.id
        made = desk.staff1.post("/api/v1/service-records", body)
        assert made.status_code == 201, made.json
        ids.append(made.json["id"])
    return ids


def test_a_supervisor_reads_filters_pages_and_flags_records_and_awards(app, world):
    desk = build_desk(world)
    other = world.member(desk.community, name="赵六")
    ids = _records(desk, 26)
    approved = desk.staff2.post(f"/api/v1/service-records/{ids[0]}/approve")
    assert approved.status_code == 200, approved.json
    theirs = _records(desk, 1, member=other)[0]
    browser = staff_browser(app, desk.supervisor)

    page = text_of(browser.get("/office/oversight"))
    assert page.count("<tr data-row=") == 25 and f'data-row="{theirs}"' in page
    assert f"员工{desk.staff1.username}" in page  # the recorder
    older = page.split('data-testid="older" href="')[1].split('"')[0].replace("&amp;", "&")
    rest = text_of(browser.get(older))
    assert f'data-row="{ids[0]}"' in rest and rest.count("<tr data-row=") == 2 and "签到表0" in rest
    assert f"员工{desk.staff2.username}" in rest  # the approver of the oldest record

    by_person = text_of(browser.get(f"/office/oversight?person={other.volunteer_number}"))
    assert by_person.count("<tr data-row=") == 1 and "赵六" in by_person
    assert "<tr data-row=" not in text_of(browser.get("/office/oversight?month=2001-01"))
    assert text_of(browser.get("/office/oversight?month=garbage")).count("<tr data-row=") == 25  # ignored

    response = browser.post("/office/oversight", data={**hidden_fields(page), "kind": "records", "id": theirs,
                                                        "reason": "当天未开展活动"})
    assert response.status_code == 302
    flagged = text_of(browser.get(f"/office/oversight?person={other.volunteer_number}"))
    assert "当天未开展活动" in flagged and 'name="reason"' not in flagged  # an open flag: no second form

    award_id = give_award(world, desk.community, desk.member, code="PW-BLOOD", admin_id=desk.admin.id)
    awards = text_of(browser.get("/office/oversight?kind=awards"))
    assert f'data-row="{award_id}"' in awards and "测试" in awards
    response = browser.post("/office/oversight", data={**hidden_fields(awards), "kind": "awards", "id": award_id,
                                                        "reason": "没有献血证明"})
    assert response.status_code == 302 and "kind=awards" in response.headers["Location"]
    assert "没有献血证明" in text_of(browser.get("/office/oversight?kind=awards"))
    empty = browser.post("/office/oversight", data={**hidden_fields(awards), "kind": "awards", "id": award_id,
                                                     "reason": ""})
    assert empty.status_code == 302  # refused with a message, nothing written
    assert world.invariants() == {}


def test_the_administrator_reads_but_cannot_flag_and_station_staff_are_turned_away(app, world):
    desk = build_desk(world)
    _records(desk, 1)
    admin = text_of(staff_browser(app, desk.admin).get("/office/oversight"))
    assert "<tr data-row=" in admin and 'name="reason"' not in admin
    clerk = staff_browser(app, desk.staff1)
    assert clerk.get("/office/oversight").status_code == 403


def test_the_alerts_page_says_what_each_flag_is_about(app, world):
    desk = build_desk(world)
    record_id = _records(desk, 1)[0]
    award_id = give_award(world, desk.community, desk.member, code="PW-BLOOD", admin_id=desk.admin.id)
    award = desk.admin.get("/api/v1/oversight/conduct-awards").json[0]
    assert desk.supervisor.post("/api/v1/flags", {"award_id": award_id, "reason": "没有证明"}).status_code == 201
    assert desk.supervisor.post("/api/v1/flags", {"service_record_id": record_id, "reason": "未开展"}).status_code == 201
    page = text_of(staff_browser(app, desk.admin).get("/office/alerts"))
    subjects = [s.split("</p>")[0] for s in page.split('data-testid="flag-subject">')[1:]]
    record_line, award_line = subjects  # newest flag first
    assert desk.member.name in award_line and award["indicator"] in award_line and "+20 分" in award_line
    assert award["date"] in award_line and desk.member.volunteer_number in award_line
    assert "环境整治" in record_line and "60 分钟" in record_line
    assert "维持记录" in page and "维持" in page
