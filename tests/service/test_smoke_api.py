"""End-to-end basics of the API on both databases."""


def test_admin_adjustment_moves_coins_and_keeps_the_book_balanced(world):
    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    response = admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 40, "reason": "迁移"})
    assert response.status_code == 201, response.json
    balance = admin.get(f"/api/v1/members/{member.id}/balance").json
    assert balance["coins"] == 40 and balance["hours_minutes"] == 0
    assert world.invariants() == {}
