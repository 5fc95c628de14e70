"""Sign-in-sheet batches (JSON and CSV) and service record certificates."""

import pytest

from service.volunteering.models import ServiceRecord

from .support import at, build_desk, count


@pytest.fixture
def desk(world):
    return build_desk(world)


def rows(desk):
    return [
        {"volunteer_number": desk.member.volunteer_number, "activity": "环境整治", "started_at": at(2, 1), "ended_at": at(2, 2)},
        {"volunteer": desk.member.card_code, "activity": "助老", "started_at": at(3, 1), "ended_at": at(3, 3), "minutes": 90},
        {"volunteer": "V-nobody", "activity": "环境整治", "started_at": at(2, 1), "ended_at": at(2, 2)},
        {"volunteer_number": desk.member.volunteer_number, "activity": "x", "started_at": at(2, 5), "ended_at": at(2, 4)},
        {"volunteer_number": desk.member.volunteer_number, "started_at": "not a time"},
        {"volunteer_number": desk.member.volunteer_number, "activity": "x",
         "started_at": "0001-01-01T00:00", "ended_at": "0001-01-01T01:00"},  # before year 1 in UTC
        {"volunteer": "V\x00", "activity": "x", "started_at": at(4, 1), "ended_at": at(4, 2)},  # no NUL in PostgreSQL
    ]


def test_a_json_batch_gives_a_result_per_row_and_bad_rows_never_block_good_ones(world, desk):
    response = desk.staff1.post("/api/v1/service-records/batch", {"station_id": desk.station.id, "rows": rows(desk)})
    assert response.status_code == 200, response.json
    result = response.json
    assert (result["created"], result["exists"], result["error"]) == (2, 0, 5)
    assert [r["status"] for r in result["rows"]] == ["created", "created", "error", "error", "error", "error", "error"]
    assert [r.get("error", {}).get("code") for r in result["rows"][2:]] == [
        "unknown_volunteer", "end_not_after_start", "validation_error", "time_out_of_range", "validation_error"
    ]
    assert count(world, ServiceRecord) == 2
    minutes = sorted(desk.admin.get(f"/api/v1/service-records/{r['service_record_id']}").json["minutes"]
                     for r in result["rows"][:2])
    assert minutes == [60, 90]


def test_resubmitting_the_same_sheet_creates_nothing_twice(world, desk):
    body = {"station_id": desk.station.id, "rows": rows(desk)}
    first = desk.staff1.post("/api/v1/service-records/batch", body).json
    second = desk.staff2.post("/api/v1/service-records/batch", body).json
    assert (second["created"], second["exists"], second["error"]) == (0, 2, 5)
    assert [r.get("service_record_id") for r in second["rows"][:2]] == [r["service_record_id"] for r in first["rows"][:2]]
    assert count(world, ServiceRecord) == 2


def test_a_csv_sign_in_sheet_is_accepted_with_local_times(world, desk):
    sheet = (
        "\ufeffvolunteer,activity,start,end,evidence\n"
        f"{desk.member.volunteer_number},垃圾分类宣传,2026-01-05 09:00,2026-01-05 11:30,签到表第1页\n"
        f"{desk.member.card_code},垃圾分类宣传,2026-01-06 09:00,2026-01-06 10:00,\n"
        "V-unknown,垃圾分类宣传,2026-01-06 09:00,2026-01-06 10:00,\n"
    ).encode()
    response = desk.staff1.post(
        f"/api/v1/service-records/batch?station_id={desk.station.id}", data=sheet, content_type="text/csv"
    )
    assert response.status_code == 200, response.json
    assert [r["status"] for r in response.json["rows"]] == ["created", "created", "error"]
    record = desk.admin.get(f"/api/v1/service-records/{response.json['rows'][0]['service_record_id']}").json
    assert record["started_at"].startswith("2026-01-05T01:00") and record["minutes"] == 150  # 09:00 Shanghai
    assert record["evidence"] == "签到表第1页" and record["late_entry"] is True
    again = desk.staff1.post(f"/api/v1/service-records/batch?station_id={desk.station.id}", data=sheet, content_type="text/csv")
    assert again.json["exists"] == 2 and count(world, ServiceRecord) == 2


def test_an_oversized_batch_is_refused_and_writes_nothing(world, desk):
    row = rows(desk)[0]
    response = desk.staff1.post("/api/v1/service-records/batch", {"station_id": desk.station.id, "rows": [row] * 501})
    assert response.status_code == 413 and response.json["error"]["code"] == "batch_too_large"
    huge = b"volunteer,activity,start,end\n" + b"x" * 1_100_000
    response = desk.staff1.post(f"/api/v1/service-records/batch?station_id={desk.station.id}", data=huge, content_type="text/csv")
    assert response.status_code == 413
    assert count(world, ServiceRecord) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"volunteer,activity\n", "text/plain", 415),
        (b"volunteer,activity\n", "text/csv", 400),  # no station_id in the query
        (b"{}", "application/json", 422),
        (b'{"station_id": 1, "rows": []}', "application/json", 422),
        (b'{"station_id": "1", "rows": [{}]}', "application/json", 422),
        (b"\xff\xfe\x00", "text/csv", 400),
        (b"volunteer,activity\n" + b"x" * 200_000 + b",a\n", "text/csv", 400),  # a cell over csv's field limit
    ],
)
def test_malformed_batches_get_a_clear_error(world, desk, body, content_type, status):
    with_station = b"\xff" in body or len(body) > 1000
    path = "/api/v1/service-records/batch" + (f"?station_id={desk.station.id}" if with_station else "")
    response = desk.staff1.post(path, data=body, content_type=content_type)
    assert response.status_code == status, response.json
    assert "code" in response.json["error"]
    assert count(world, ServiceRecord) == 0


def test_a_batch_is_only_for_the_callers_own_station(world, desk):
    other = world.station(desk.community)
    response = desk.staff1.post("/api/v1/service-records/batch", {"station_id": other.id, "rows": rows(desk)})
    assert response.status_code == 403
    assert desk.supervisor.post("/api/v1/service-records/batch", {"station_id": desk.station.id, "rows": rows(desk)}).status_code == 403
    assert count(world, ServiceRecord) == 0


def _approved_hours(desk, start, end):
    made = desk.staff1.post("/api/v1/service-records", {
        "station_id": desk.station.id, "volunteer_id": desk.member.id, "activity": "助老", "started_at": start, "ended_at": end,
    }).json
    assert desk.staff2.post(f"/api/v1/service-records/{made['id']}/approve").json["status"] == "approved"


def test_a_certificate_is_an_immutable_public_snapshot_with_masked_data(world):
    desk = build_desk(world)
    member = world.member(desk.community, name="王小明", national_id="530102199001011234")
    desk.member = member
    _approved_hours(desk, at(3, 1), at(3, 3))
    issued = desk.staff1.post("/api/v1/certificates", {"member_id": member.id})
    assert issued.status_code == 201, issued.json
    number = issued.json["number"]
    public = world.client.get(f"/api/v1/certificates/{number}")  # no token
    assert public.status_code == 200
    body = public.json
    assert body["name_masked"] == "王*明" and body["volunteer_number"] == member.volunteer_number
    assert body["total_minutes"] == 120 and body["record_count"] == 1 and body["intact"] is True
    assert body["label"].startswith("平台记录")
    text = public.get_data(as_text=True)
    assert "王小明" not in text and "1234" not in text and "530102" not in text
    _approved_hours(desk, at(2, 1), at(2, 2))
    assert world.client.get(f"/api/v1/certificates/{number}").json["total_minutes"] == 120
    newer = desk.staff1.post("/api/v1/certificates", {"member_id": member.id}).json
    assert newer["snapshot"]["total_minutes"] == 180 and newer["number"] != number


def test_an_unknown_certificate_number_is_not_found(world):
    assert world.client.get("/api/v1/certificates/GC20260101-NOPE").status_code == 404
    # not shaped like a number (the documented path pattern): no route matches, a JSON 404
    for odd in ("x" * 40, "GC%00", "%FF%FE", "GC 2026"):  # a NUL byte reached PostgreSQL as a 500
        response = world.client.get("/api/v1/certificates/" + odd)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_residents_get_their_own_certificates_only(world, desk):
    me = world.resident(desk.member)
    assert me.post("/api/v1/certificates", {"member_id": desk.member.id}).status_code == 201
    neighbour = world.member(desk.community, name="李四")
    assert me.post("/api/v1/certificates", {"member_id": neighbour.id}).status_code == 404
    assert len(me.get(f"/api/v1/certificates?member_id={desk.member.id}").json) == 1
    assert desk.supervisor.post("/api/v1/certificates", {"member_id": desk.member.id}).status_code == 403
