"""``greencoin import-service-records``: a scheme's historical hours from its own sheet, approved
rows posted through the one approval path, a result per row, and a re-run that creates nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io

from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select

from ledger import Transaction, Unit
from service.audit.models import AuditEvent
from service.extensions import db
from service.volunteering.cli import import_service_records_command
from service.volunteering.models import ServiceRecord, ServiceRecordImport

HEADINGS = ["志愿者编号", "活动", "开始", "结束", "分钟", "备注", "状态", "审核人", "驳回原因"]


def excel(days_ago: int, hour: int) -> str:
    """A local time as Chinese Excel writes it in a CSV (2026/9/3 8:00)."""
    day = dt.date.today() - dt.timedelta(days=days_ago)
    return f"{day.year}/{day.month}/{day.day} {hour}:00"


def _setup(world):
    community = world.community()
    station = world.station(community)
    clerk = world.staff("station_staff", community=community, station=station)
    other_clerk = world.staff("station_staff", community=community, station=station)
    admin = world.admin(community)
    volunteer = world.member(community, name="王秀英")
    return community, station, clerk, other_clerk, admin, volunteer


def _sheet(volunteer, clerk, other_clerk, admin) -> list[list[str]]:
    number = volunteer.volunteer_number
    return [
        HEADINGS,
        [number, "环境整治", excel(60, 8), excel(60, 10), "", "旧台账", "approved", admin.username, ""],
        [number, "助老送餐", excel(59, 8), excel(59, 9), "45", "", "待审核", "", ""],
        [number, "环境整治", excel(58, 8), excel(58, 9), "", "", "rejected", other_clerk.username, "重复登记"],
        [number, "环境整治", excel(57, 8), excel(57, 9), "", "", "approved", clerk.username, ""],  # recorder = approver
        [number, "环境整治", excel(56, 8), excel(56, 9), "", "", "approved", other_clerk.username, ""],  # not an admin
        [number, "环境整治", excel(55, 10), excel(55, 8), "", "", "approved", admin.username, ""],  # ends before start
        ["V999999999999", "环境整治", excel(54, 8), excel(54, 9), "", "", "approved", admin.username, ""],
        [number, "环境整治", excel(53, 8), excel(53, 9), "", "", "maybe", admin.username, ""],
    ]


def _run(app, path, station, clerk, report=None):
    args = [str(path), "--station", str(station.id), "--recorded-by", clerk.username]
    if report:
        args += ["--report", str(report)]
    return CliRunner().invoke(import_service_records_command, args, env={"DATABASE_URL": app.config["DATABASE_URL"]})


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_history_is_imported_row_by_row_and_a_rerun_creates_nothing_twice(app, world, tmp_path):
    community, station, clerk, other_clerk, admin, volunteer = _setup(world)
    path, report = tmp_path / "history.csv", tmp_path / "report.csv"
    out = io.StringIO()
    csv.writer(out).writerows(_sheet(volunteer, clerk, other_clerk, admin))
    path.write_bytes(out.getvalue().encode("gbk"))  # as Chinese Excel saves a CSV

    first = _run(app, path, station, clerk, report)
    assert first.exit_code == 1, first.output  # some rows have errors: the exit status says so
    assert "created: 3, error: 5" in first.output
    rows = list(csv.DictReader(report.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["status"] for r in rows] == ["created", "created", "created"] + ["error"] * 5
    assert [r["row"] for r in rows] == [str(n) for n in range(2, 10)]  # spreadsheet rows: the heading is row 1
    assert [r["record_status"] for r in rows[:3]] == ["approved", "pending", "rejected"]
    assert [(r["column"], r["code"]) for r in rows[3:]] == [
        ("approver", "four_eyes"), ("approver", "needs_administrator"), ("ended_at", "end_not_after_start"),
        ("volunteer", "unknown_volunteer"), ("status", "invalid_status"),
    ]
    assert rows[0]["volunteer_number"] == volunteer.volunteer_number and rows[0]["name"] == "王秀英"
    assert f"row 5 {volunteer.volunteer_number} 王秀英: error: column approver: four_eyes" in first.output

    # the approved row posted 2 h and its coins through the approval path, as the approver
    assert world.balance(volunteer, Unit.HOUR) == 120 and world.balance(volunteer) == 20
    with app.app_context():
        approved = db.session.get(ServiceRecord, int(rows[0]["service_record_id"]))
        assert (approved.recorded_by, approved.admin_approved_by) == (clerk.id, admin.id)
        assert approved.late_entry and approved.coins == 20
        posting = db.session.get(Transaction, approved.transaction_id)
        assert posting.kind == "volunteer_hours" and posting.actor_id == admin.id
        rejected = db.session.get(ServiceRecord, int(rows[2]["service_record_id"]))
        assert (rejected.rejected_by, rejected.reject_reason) == (other_clerk.id, "重复登记")
    # bad rows left nothing behind; every imported row is audit-logged
    assert _count(app, ServiceRecord) == 3 and _count(app, ServiceRecordImport) == 3
    assert _count(app, AuditEvent, AuditEvent.action == "service_record.import") == 3

    again = _run(app, path, station, clerk, report)
    assert "error: 5, exists: 3" in again.output
    rows = list(csv.DictReader(report.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["status"] for r in rows[:3]] == ["exists"] * 3
    assert _count(app, ServiceRecord) == 3 and _count(app, Transaction, Transaction.kind == "volunteer_hours") == 1
    assert world.balance(volunteer) == 20 and world.invariants() == {}


def test_the_stored_row_key_is_a_keyed_digest_not_the_row(app, world, tmp_path):
    _community, station, clerk, _other, admin, volunteer = _setup(world)
    path = tmp_path / "history.csv"
    path.write_text(
        "\ufeffvolunteer,activity,start,end,status,approver\n"
        f"{volunteer.volunteer_number},环境整治,{excel(40, 8)},{excel(40, 9)},approved,{admin.username}\n",
        encoding="utf-8",
    )
    assert _run(app, path, station, clerk).exit_code == 0
    with app.app_context():
        key = db.session.scalars(select(ServiceRecordImport.import_key)).one()
    assert len(key) == 64 and volunteer.volunteer_number not in key


def test_an_xlsx_history_with_date_cells_is_imported(app, world, tmp_path):
    _community, station, clerk, _other, admin, volunteer = _setup(world)
    start = dt.datetime.combine(dt.date.today() - dt.timedelta(days=30), dt.time(8, 0))
    book = Workbook()
    book.active.append(HEADINGS)
    book.active.append([volunteer.volunteer_number, "环境整治", start, start + dt.timedelta(minutes=90), None, None,
                        "已批准", admin.username, None])
    path = tmp_path / "history.xlsx"
    book.save(path)
    result = _run(app, path, station, clerk)
    assert result.exit_code == 0, result.output
    assert "created: 1" in result.output
    assert world.balance(volunteer, Unit.HOUR) == 90 and world.balance(volunteer) == 15


def test_a_recorder_outside_the_station_is_refused_before_any_row(app, world, tmp_path):
    community, station, _clerk, _other, admin, volunteer = _setup(world)
    elsewhere = world.staff("station_staff", community=community, station=world.station(community))
    path = tmp_path / "history.csv"
    path.write_text(f"volunteer,activity,start,end,status\n{volunteer.volunteer_number},x,{excel(9, 8)},{excel(9, 9)},pending\n")
    result = _run(app, path, station, elsewhere)
    assert result.exit_code == 1 and "forbidden" in result.output
    assert _count(app, ServiceRecord) == 0


def test_a_sheet_without_a_status_column_is_refused_as_a_whole(app, world, tmp_path):
    _community, station, clerk, _other, _admin, volunteer = _setup(world)
    path = tmp_path / "sign-in.csv"  # a plain sign-in sheet: which rows were approved is unknown
    path.write_text(f"volunteer,activity,start,end\n{volunteer.volunteer_number},x,{excel(9, 8)},{excel(9, 9)}\n")
    result = _run(app, path, station, clerk)
    assert result.exit_code == 1 and "no_status_column" in result.output
    assert _count(app, ServiceRecord) == 0
