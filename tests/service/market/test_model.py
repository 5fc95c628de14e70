"""Random sequences of stock receipts, baskets and refunds against a simple model of stock and coins:
every request succeeds exactly when the model says it should, and the book and shelves stay sound."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PRICES = {"RICE5": 40, "OIL1": 25, "SOAP": 5}

actions = st.lists(
    st.one_of(
        st.tuples(st.just("basket"), st.dictionaries(st.sampled_from(sorted(PRICES)), st.integers(1, 6), min_size=1,
                                                      max_size=3), st.booleans()),
        st.tuples(st.just("receive"), st.sampled_from(sorted(PRICES)), st.integers(1, 8)),
        st.tuples(st.just("refund_line"), st.integers(0, 20), st.integers(1, 4)),
        st.tuples(st.just("refund_whole"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_baskets_and_refunds_follow_the_model(shop, steps):
    world = shop.world
    stock = {sku: shop.stock(sku) for sku in PRICES}
    coins = {"member": world.balance(shop.member), "household": world.balance(shop.household)}
    baskets = []  # (id, paid_from, {line_id: [sku, quantity, refunded]})
    for step in steps:
        if step[0] == "basket":
            _, wanted, household = step
            paid_from = "household" if household else "member"
            total = sum(PRICES[s] * q for s, q in wanted.items())
            ok = all(q <= stock[s] for s, q in wanted.items()) and total <= coins[paid_from]
            response = shop.basket(*wanted.items(), paid_from=paid_from)
            assert response.status_code == (201 if ok else 409), (step, stock, coins, response.json)
            if ok:
                for sku, q in wanted.items():
                    stock[sku] -= q
                coins[paid_from] -= total
                lines = {ln["id"]: [ln["sku"], ln["quantity"], 0] for ln in response.json["lines"]}
                baskets.append((response.json["id"], paid_from, lines))
        elif step[0] == "receive":
            _, sku, q = step
            response = shop.cashier.post("/api/v1/stock-receipts", {
                "supermarket_id": shop.supermarket.id, "kind": "purchase", "source": "供销社",
                "lines": [{"sku": sku, "quantity": q}]})
            assert response.status_code == 201
            stock[sku] += q
        elif baskets:
            basket_id, paid_from, lines = baskets[step[1] % len(baskets)]
            url = f"/api/v1/redemptions/{basket_id}/refund"
            if step[0] == "refund_line":
                line_id = sorted(lines)[step[1] % len(lines)]
                sku, sold, refunded = lines[line_id]
                q = step[2]
                ok = refunded + q <= sold
                response = shop.cashier.post(url, {"reason": "模型", "lines": [{"line_id": line_id, "quantity": q}]})
                todo = {line_id: q}
            else:
                ok = any(r < s for _, s, r in lines.values())
                response = shop.cashier.post(url, {"reason": "整单"})
                todo = {i: s - r for i, (_, s, r) in lines.items() if s > r}
            assert response.status_code == (201 if ok else 409), (step, lines, response.json)
            if ok:
                for line_id, q in todo.items():
                    lines[line_id][2] += q
                    stock[lines[line_id][0]] += q
                    coins[paid_from] += PRICES[lines[line_id][0]] * q
        assert {sku: shop.stock(sku) for sku in PRICES} == stock
        assert (world.balance(shop.member), world.balance(shop.household)) == (coins["member"], coins["household"])
    assert shop.market_sound() == []
    assert world.invariants() == {}
