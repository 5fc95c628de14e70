"""A resident's statement proves itself against the published head; any edit or omission fails."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

import ledger
from ledger.merkle import build_blocks, verify_blocks, verify_statement
from service.bookkeeping.cli import verify_statement_command
from service.extensions import db


@pytest.fixture
def proven(app, world):
    community = world.community()
    member = world.member(community)
    admin = world.admin(community)
    for amount in (30, -5, 12):
        assert admin.post("/api/v1/adjustments", json={"member_id": member.id, "unit": "COIN", "amount": amount,
                                                        "reason": "调整"}).status_code == 201
    with app.app_context():
        db.run(lambda s: (ledger.seal(s), build_blocks(s)))
    resident = world.resident(member)
    document = resident.get(f"/api/v1/members/{member.id}/statement-proof").json
    head = world.client.get("/api/v1/ledger/merkle-head").json["hash"]
    return {"document": document, "head": head, "admin": admin, "member": member, "app": app}


def test_a_true_statement_verifies_against_the_head(proven):
    document = proven["document"]
    assert [line["amount"] for line in document["lines"]] == [30, -5, 12]
    assert all(line["proof"] for line in document["lines"])
    assert document["head"]["hash"] == proven["head"]
    assert verify_statement(document, proven["head"]) == []


def test_a_changed_amount_fails(proven):
    document = copy.deepcopy(proven["document"])
    document["lines"][1]["amount"] = -1
    document["lines"][1]["balance_after"] += 4
    document["lines"][2]["balance_after"] += 4
    assert any("amount" in p for p in verify_statement(document, proven["head"]))
    # also changing the canonical content to match breaks the hash and so the proof
    body = json.loads(document["lines"][1]["canonical"])
    body["lines"] = [[a, u, -1 if m == -5 else (1 if m == 5 else m)] for a, u, m in body["lines"]]
    document["lines"][1]["canonical"] = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert any("not in the sealed books" in p for p in verify_statement(document, proven["head"]))


def test_a_changed_date_fails(proven):
    document = copy.deepcopy(proven["document"])
    document["lines"][0]["at"] = "2020-01-01T00:00:00.000000+00:00"
    assert any("date" in p for p in verify_statement(document, proven["head"]))


def test_a_removed_line_fails(proven):
    document = copy.deepcopy(proven["document"])
    del document["lines"][1]
    assert any("missing" in p for p in verify_statement(document, proven["head"]))


def test_another_head_fails(proven):
    assert verify_statement(proven["document"], "ab" * 32) == ["the blocks do not lead to the given head"]


def test_newer_lines_wait_for_their_block_and_old_proofs_still_lead_to_the_new_head(proven, world):
    admin, member, app = proven["admin"], proven["member"], proven["app"]
    admin.post("/api/v1/adjustments", json={"member_id": member.id, "unit": "COIN", "amount": 7, "reason": "x"})
    document = admin.get(f"/api/v1/members/{member.id}/statement-proof").json
    assert document["lines"][-1]["proof"] is None  # not sealed into a block yet
    with app.app_context():
        db.run(lambda s: (ledger.seal(s), build_blocks(s)))
        assert db.run(verify_blocks) == []
    document = admin.get(f"/api/v1/members/{member.id}/statement-proof").json
    head = world.client.get("/api/v1/ledger/merkle-head").json["hash"]
    assert len(document["blocks"]) == 2 and verify_statement(document, head) == []


def test_verify_statement_command_works_offline(proven, tmp_path):
    path = tmp_path / "statement.json"
    path.write_text(json.dumps(proven["document"]), encoding="utf-8")
    ok = CliRunner().invoke(verify_statement_command, [str(path), "--head", proven["head"]])
    assert ok.exit_code == 0 and ok.output.startswith("OK 3 of 3")
    tampered = copy.deepcopy(proven["document"])
    tampered["lines"][0]["amount"] = 300
    path.write_text(json.dumps(tampered), encoding="utf-8")
    failed = CliRunner().invoke(verify_statement_command, [str(path), "--head", proven["head"]])
    assert failed.exit_code == 1 and "FAIL" in failed.output


def test_others_cannot_read_a_residents_proof(proven, world):
    other = world.member(world.community())
    response = world.resident(other).get(f"/api/v1/members/{proven['member'].id}/statement-proof")
    assert response.status_code == 404
