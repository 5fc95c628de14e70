"""A certificate names the issuing organisation and the person in charge (community settings), and a
certificate whose records were reversed after it was issued says so when checked."""

from __future__ import annotations

from tests.service.conduct.test_flag_service_records import _approved
from tests.service.volunteering.support import at, build_desk


def test_a_certificate_names_its_issuer_and_says_when_its_records_were_reversed(app, world, client):
    desk = build_desk(world)
    assert desk.admin.patch(f"/api/v1/communities/{desk.community.id}", {
        "certificate_issuer": "曲靖市某某社区志愿服务站", "person_in_charge": "李主任"}).status_code == 200
    first = _approved(desk, at(3, 1), at(3, 3))
    _approved(desk, at(2, 1), at(2, 2))
    issued = desk.admin.post("/api/v1/certificates", {"member_id": desk.member.id})
    assert issued.status_code == 201, issued.json
    number = issued.json["number"]
    checked = client.get(f"/api/v1/certificates/{number}").json
    assert checked["issuer"] == "曲靖市某某社区志愿服务站" and checked["person_in_charge"] == "李主任"
    assert checked["intact"] is True and checked["reversed_records"] == [] and checked["total_minutes"] == 180

    reversed_ = desk.admin.post(f"/api/v1/service-records/{first['id']}/reverse", {"reason": "重复登记"})
    assert reversed_.status_code == 200, reversed_.json
    checked = client.get(f"/api/v1/certificates/{number}").json
    assert checked["hash_ok"] is True and checked["intact"] is False
    assert checked["reversed_minutes"] == 120 and len(checked["reversed_records"]) == 1
    page = client.get(f"/certificates/{number}").get_data(as_text=True)
    assert 'data-testid="certificate-reversed"' in page and "李主任" in page and 'data-testid="certificate-intact"' not in page


def _as_issued_before_record_ids(app, number: str) -> None:
    """Make the certificate what one issued before record ids were stored looks like: its records
    listed by date, activity, station and minutes only, with the hash of that snapshot."""
    import hashlib

    from sqlalchemy import select

    from ledger.chain import canonical_json
    from service.extensions import db
    from service.volunteering.models import Certificate

    with app.app_context():
        certificate = db.session.scalars(select(Certificate).where(Certificate.number == number)).one()
        snapshot = dict(certificate.snapshot)
        snapshot["records"] = [{k: v for k, v in r.items() if k != "id"} for r in snapshot["records"]]
        certificate.snapshot = snapshot
        certificate.content_hash = hashlib.sha256(canonical_json(snapshot).encode()).hexdigest()
        db.session.commit()


def test_a_certificate_issued_before_record_ids_were_stored_still_names_a_reversed_record(app, world, client):
    desk = build_desk(world)
    earlier = _approved(desk, at(3, 5), at(3, 6))  # alike the two below, but reversed before the issue
    assert desk.admin.post(f"/api/v1/service-records/{earlier['id']}/reverse", {"reason": "错录"}).status_code == 200
    alike = [_approved(desk, at(3, 1), at(3, 2)), _approved(desk, at(3, 3), at(3, 4))]  # same day, activity, minutes
    _approved(desk, at(2, 1), at(2, 3))
    number = desk.admin.post("/api/v1/certificates", {"member_id": desk.member.id}).json["number"]
    _as_issued_before_record_ids(app, number)
    checked = client.get(f"/api/v1/certificates/{number}").json
    assert checked["hash_ok"] is True and checked["intact"] is True and checked["record_count"] == 3

    assert desk.admin.post(f"/api/v1/service-records/{alike[1]['id']}/reverse", {"reason": "重复"}).status_code == 200
    checked = client.get(f"/api/v1/certificates/{number}").json
    assert checked["hash_ok"] is True and checked["intact"] is False
    assert checked["reversed_minutes"] == 60 and len(checked["reversed_records"]) == 1
    assert checked["reversed_records"][0]["activity"] == alike[1]["activity_name"]
