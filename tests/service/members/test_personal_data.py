"""SPEC §2 People and privacy: the national ID number and other personal fields are protected by a
key of their own; nothing stored, exported or shown lets the number be recovered."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import select

from ledger.chain import canonical_json
from service.extensions import db
from service.idempotency import IdempotentRequest
from service.members.models import Member
from tests.web.pages import hidden_fields, staff_browser, text_of

NATIONAL_ID = "53030219800101123X"
BIRTH = "1980-01-01"


def register_at_desk(app, world, **extra):
    community = world.community()
    station = world.station(community)
    desk = staff_browser(app, world.staff("station_staff", station=station))
    fields = hidden_fields(text_of(desk.get("/desk/members")))
    form = {"name": "王五", "phone": "13800001111", "national_id": NATIONAL_ID, "birth_date": BIRTH, **extra}
    response = desk.post("/desk/members", data={**fields, **form})
    assert response.status_code == 200 and 'data-testid="new-pin"' in text_of(response), text_of(response)
    return community, form


def unkeyed_hashes(community_id, form) -> set[str]:
    """What an attacker holding the table computes for one guess of the number (main's scheme)."""
    payload = {"community_id": community_id, "name": form["name"], "phone": form["phone"],
               "national_id": NATIONAL_ID, "birth_date": BIRTH}
    for drop in ([], ["phone"], ["birth_date"]):
        guess = {k: str(v) for k, v in payload.items() if k not in drop}
        yield hashlib.sha256(canonical_json(["POST", "/desk/members", guess]).encode()).hexdigest()


def test_the_idempotency_row_of_a_registration_cannot_test_a_guessed_national_id(app, world):
    community, form = register_at_desk(app, world)
    with app.app_context():
        rows = db.session.scalars(select(IdempotentRequest)).all()
    assert rows, "the desk registration is idempotent"
    stored = {row.request_hash for row in rows}
    assert not stored & set(unkeyed_hashes(community.id, form))
    for row in rows:
        assert NATIONAL_ID not in json.dumps(row.response_body or {})


def test_the_request_hash_depends_on_the_personal_data_key(app, world):
    from service.idempotency import request_digest

    payload = {"national_id": NATIONAL_ID, "name": "王五"}
    with app.test_request_context("/desk/members", method="POST"):
        first = request_digest(payload)
        app.config["PII_KEY"] = "another-personal-data-key-of-enough-length"
        second = request_digest(payload)
        other_number = request_digest({**payload, "national_id": "530302198001011246"})
    assert first != second and second != other_number


def test_the_national_id_is_masked_to_its_last_four_and_never_beside_a_full_birth_date(app, world):
    community = world.community()
    admin = world.admin(community)
    created = admin.post("/api/v1/members", {"community_id": community.id, "name": "李四",
                                             "national_id": NATIONAL_ID, "birth_date": BIRTH})
    assert created.status_code == 201, created.json
    with app.app_context():
        member = db.session.get(Member, created.json["id"])
        assert member.national_id_masked == "**************123X"
    for body in (created.json, admin.get(f"/api/v1/members/{member.id}").json):
        text = json.dumps(body)
        assert "5303" not in text and NATIONAL_ID not in text
        assert not ("123X" in text and BIRTH in text), body
    page = text_of(staff_browser(app, admin).get(f"/office/members/{member.id}"))
    assert "5303" not in page
    assert not ("123X" in page and ("1980-01-01" in page or "1980年1月1日" in page)), page


def test_a_backup_holds_nothing_that_recovers_a_national_id(app, world):
    from service.backup.operations import export_backup

    community, form = register_at_desk(app, world)
    out = io.StringIO()
    with app.app_context():
        export_backup(db.session, out)
    dump = out.getvalue()
    assert NATIONAL_ID not in dump and hashlib.sha256(NATIONAL_ID.encode()).hexdigest() not in dump
    assert not set(unkeyed_hashes(community.id, form)) & set(_strings(dump))
    for line in dump.splitlines()[1:]:
        record = json.loads(line)
        if record["t"] == "members" and record["r"]["birth_date"]:
            assert not (record["r"].get("national_id_masked") or "").strip("*"), record


def _strings(dump):
    for line in dump.splitlines():
        for value in json.loads(line).get("r", {}).values():
            if isinstance(value, str):
                yield value


# --- the key ----------------------------------------------------------------------------------


def _build(**config):
    from service import create_app

    return create_app({"REDIS_URL": None, "SECRET_KEY": "session-signing-key-" + "x" * 20, **config})


@pytest.mark.parametrize(
    "config",
    [
        {"GREENCOIN_ENV": "production", "PII_KEY": None},
        # A PostgreSQL URL without GREENCOIN_ENV counts as production.
        {"GREENCOIN_ENV": None, "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "PII_KEY": None},
        {"GREENCOIN_ENV": "production", "PII_KEY": "short"},
        {"GREENCOIN_ENV": "production", "PII_KEY": "session-signing-key-" + "x" * 20},  # = SECRET_KEY
    ],
)
def test_production_refuses_to_start_without_a_personal_data_key_of_its_own(config, tmp_path):
    config.setdefault("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(RuntimeError, match="GREENCOIN_PII_KEY"):
        _build(**config)


def test_production_starts_with_its_key_and_development_has_a_key_apart_from_the_session_key(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    key = "a-real-personal-data-key-" + "k" * 20
    assert _build(GREENCOIN_ENV="production", PII_KEY=key, DATABASE_URL=url).config["PII_KEY"] == key
    dev = _build(GREENCOIN_ENV="development", PII_KEY=None, DATABASE_URL=url)
    assert dev.config["PII_KEY"] and dev.config["PII_KEY"] != dev.config["SECRET_KEY"]


def test_the_first_pin_is_shown_on_the_page_and_never_put_in_the_session_cookie(app, world):
    import re

    community = world.community()
    desk = staff_browser(app, world.staff("station_staff", station=world.station(community)))
    fields = hidden_fields(text_of(desk.get("/desk/members")))
    answer = desk.post("/desk/members", data={**fields, "name": "周九"})
    pin = re.search(r'data-testid="new-pin">.*?<strong>(\d{6})</strong>', text_of(answer), re.S).group(1)
    cookie = desk.get_cookie("session")
    with app.app_context():
        content = app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}
    assert pin not in json.dumps(content, default=str)
    assert pin not in text_of(desk.get("/desk"))  # and no flash shows it again
