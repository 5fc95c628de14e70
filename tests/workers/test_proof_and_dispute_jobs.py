"""The nightly jobs behind statement proofs and dispute deadlines."""

from __future__ import annotations

import datetime as dt

import ledger
from ledger.merkle import latest_block, verify_blocks
from service.disputes.models import Dispute, DisputeStatus
from service.extensions import db
from workers import jobs


def test_merkle_blocks_job_seals_and_closes_a_block_once_per_night(jobs_app, world, yesterday):
    member = world.member(world.community())
    world.credit(member, 10)
    first = jobs.build_merkle_blocks(yesterday.isoformat())
    assert first[0]["counts"] == {"blocks": 1}
    assert jobs.build_merkle_blocks(yesterday.isoformat())[0]["done"] is False  # once per business date
    with jobs_app.app_context():
        block = latest_block(db.session)
        assert block.last_seq == ledger.chain_head(db.session).seq
        assert verify_blocks(db.session) == []


def test_dispute_deadlines_job_escalates_overdue_disputes(jobs_app, world, yesterday):
    community = world.community()
    member = world.member(community)
    admin = world.admin(community)
    line = admin.post("/api/v1/adjustments", json={"member_id": member.id, "unit": "COIN", "amount": 5, "reason": "x"})
    dispute = world.resident(member).post("/api/v1/disputes", json={"transaction_id": line.json["id"], "reason": "?"})
    with jobs_app.app_context():
        db.run(lambda s: s.get(Dispute, dispute.json["id"]).__setattr__(
            "answer_due_at", ledger.utcnow() - dt.timedelta(hours=1)))
    assert jobs.escalate_disputes(yesterday.isoformat())[0]["counts"] == {"escalated": 1}
    with jobs_app.app_context():
        assert db.session.get(Dispute, dispute.json["id"]).status == DisputeStatus.ESCALATED.value
