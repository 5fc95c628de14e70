"""Disputes in the pages: a resident disputes a line on the phone page, the desk answers it."""

from __future__ import annotations

import pytest

from tests.web.pages import post_form, resident_browser, staff_browser, text_of


@pytest.fixture
def disputed(app, world):
    community = world.community()
    station = world.station(community)
    member = world.member(community, name="王秀英")
    admin = world.admin(community)
    line = admin.post("/api/v1/adjustments", json={"member_id": member.id, "unit": "COIN", "amount": 25, "reason": "开户"})
    resident = resident_browser(app, member)
    page = text_of(resident.get("/me/disputes"))
    assert f'value="{line.json["id"]}"' in page  # the line is offered while inside the window
    sent = post_form(resident, "/me/disputes", {"transaction_id": line.json["id"], "reason": "金额不对"})
    assert sent.status_code == 302, text_of(sent)
    return {"world": world, "member": member, "admin": admin, "station": station, "resident": resident,
            "community": community}


def test_resident_sees_their_dispute_with_its_deadline(disputed):
    page = text_of(disputed["resident"].get("/me/disputes"))
    assert "金额不对" in page
    assert "待处理" in page or "open" in page


def test_desk_corrects_a_disputed_line_and_the_coins_go_back(app, disputed):
    world = disputed["world"]
    desk = staff_browser(app, world.admin(disputed["community"]))
    page = text_of(desk.get("/desk/disputes"))
    assert "王秀英" in page and "金额不对" in page
    dispute_id = disputed["admin"].get("/api/v1/disputes").json[0]["id"]
    answered = post_form(desk, "/desk/disputes", {"dispute_id": dispute_id, "note": "录错", "outcome": "correct"})
    assert answered.status_code == 302, text_of(answered)
    assert world.balance(disputed["member"]) == 0
    assert disputed["admin"].get(f"/api/v1/disputes/{dispute_id}").json["status"] == "corrected"


def test_supervisor_reads_disputes_without_answer_forms(app, disputed):
    supervisor = staff_browser(app, disputed["world"].staff("supervisor", community=disputed["community"]))
    page = text_of(supervisor.get("/desk/disputes"))
    assert "金额不对" in page and 'name="outcome"' not in page


def test_the_desk_lists_many_residents_disputes_in_a_fixed_number_of_reads(app, disputed):
    """Each disputed line is described in its own resident's words, for all residents at once (it was
    two to four statements more per resident)."""
    world = disputed["world"]
    desk = staff_browser(app, world.admin(disputed["community"]))

    def desk_page():
        page, sent = world.statements_of(lambda: desk.get("/desk/disputes"))
        assert page.status_code == 200
        return text_of(page), sent

    _page, few = desk_page()
    for name in ("李四", "赵六", "钱七"):
        member = world.member(disputed["community"], name=name)
        line = disputed["admin"].post(
            "/api/v1/adjustments", json={"member_id": member.id, "unit": "COIN", "amount": 5, "reason": "补录"}
        )
        sent = post_form(resident_browser(app, member), "/me/disputes",
                         {"transaction_id": line.json["id"], "reason": f"{name}的疑问"})
        assert sent.status_code == 302, text_of(sent)
    page, many = desk_page()
    assert all(f"{name}的疑问" in page for name in ("李四", "赵六", "钱七")) and "金额不对" in page
    assert many == few
