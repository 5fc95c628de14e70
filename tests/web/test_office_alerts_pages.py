"""The office's alert page links each alert to its records and lets an administrator dismiss it
with a reason; the settings page carries the thresholds."""

from __future__ import annotations

from sqlalchemy import select

from service.extensions import db
from service.localtime import today as local_today
from service.volunteering import fraud
from service.volunteering.models import FraudAlert
from tests.service.volunteering.test_fraud_alerts import _record
from tests.web.pages import post_form, staff_browser, text_of


def test_an_alert_links_to_its_record_and_is_dismissed_from_the_page(app, world):
    community = world.community()
    admin = world.admin(community)
    member = world.member(community, name="赵六")
    browser = staff_browser(app, admin)
    saved = post_form(browser, "/office/settings", {"name": community.name, "fraud_long_record_minutes": "90",
                                                    "objection_contact": "村务监督委员会 王主任"})
    assert saved.status_code == 302, text_of(saved)
    today = local_today(app.config["TIMEZONE"])
    record_id = _record(app, community, world.station(community), member, admin.id, today, 2)
    with app.app_context():
        db.run(lambda s: fraud.scan(s, today, app.config["TIMEZONE"]))
    html = text_of(browser.get("/office/alerts"))
    assert "时长异常" in html and f"/office/records/service/{record_id}" in html and f"/office/members/{member.id}" in html
    record_page = text_of(browser.get(f"/office/records/service/{record_id}"))
    assert "赵六" in record_page and "巡逻" in record_page and "120" in record_page

    supervisor = staff_browser(app, world.staff("supervisor", community=community))
    assert 'name="reason"' not in text_of(supervisor.get("/office/alerts"))
    with app.app_context():
        alert_id = db.session.scalars(select(FraudAlert.id)).one()
    done = post_form(browser, "/office/alerts", {"action": "dismiss", "alert_id": str(alert_id), "reason": "站长确认属实"})
    assert done.status_code == 302
    html = text_of(browser.get("/office/alerts"))
    assert "站长确认属实" in html and "已排除" in html
    assert 'value="90"' in text_of(browser.get("/office/settings"))


def test_a_supervisor_flags_a_service_record_from_its_page_and_an_administrator_reverses_it(app, world):
    from tests.service.conduct.test_flag_service_records import _approved
    from tests.service.volunteering.support import at, build_desk

    desk = build_desk(world)
    record = _approved(desk, at(2, 1), at(2, 3))
    supervisor = staff_browser(app, desk.supervisor)
    page = f"/office/records/service/{record['id']}"
    html = text_of(supervisor.get(page))
    assert "对该记录提出异议" in html and "录入人" in html and "审核人" in html
    assert post_form(supervisor, page, {"reason": "当天下雨未开展"}).status_code == 302
    html = text_of(supervisor.get(page))
    assert "当天下雨未开展" in html and 'name="reason"' in html  # a second flag is refused while this one is open
    admin = staff_browser(app, desk.admin)
    alerts = text_of(admin.get("/office/alerts"))
    assert page in alerts
    with app.app_context():
        from service.conduct.models import DisputeFlag

        flag_id = db.session.scalars(select(DisputeFlag.id)).one()
    done = post_form(admin, "/office/alerts", {"flag_id": str(flag_id), "decision": "reverse", "note": "核实属实"})
    assert done.status_code == 302
    assert "已撤销" in text_of(admin.get(page))
    assert 'name="reason"' not in text_of(supervisor.get(page))
