"""The sealed head of the hash chain is public, so anyone can record it."""

import ledger
from service.extensions import db


def test_anyone_can_read_the_sealed_chain_head_and_it_moves_with_each_seal(app, world, client):
    empty = client.get("/api/v1/ledger/chain-head")
    assert empty.status_code == 200 and empty.json["seq"] == 0

    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 5, "reason": "迁移"})
    with app.app_context():
        db.run(ledger.seal)
    first = client.get("/api/v1/ledger/chain-head").json
    assert first["seq"] == 1 and len(first["chain_hash"]) == 64

    admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 6, "reason": "补发"})
    assert client.get("/api/v1/ledger/chain-head").json == first  # not sealed yet
    with app.app_context():
        db.run(ledger.seal)
    second = client.get("/api/v1/ledger/chain-head").json
    assert second["seq"] == 2 and second["chain_hash"] != first["chain_hash"]
