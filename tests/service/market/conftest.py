"""A stocked love supermarket with its staff and a resident who has coins, on both databases."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

import ledger
from service.extensions import db
from service.market.models import Product, Redemption, Refund, StockMovement
from service.market.operations import redemption_discrepancies, stock_discrepancies
from service.members.models import Household, Member
from tests.factories import Caller, World


@dataclass
class Shop:
    world: World
    community: object
    supermarket: object
    admin: Caller
    cashier: Caller
    household: Household
    member: Member
    products: dict  # sku -> product id

    def add_product(self, sku: str, price: int, stock: int, *, supermarket=None, name=None, caller=None) -> int:
        supermarket = supermarket or self.supermarket
        caller = caller or self.admin
        response = caller.post(
            "/api/v1/products",
            {"supermarket_id": supermarket.id, "sku": sku, "name": name or f"商品{sku}", "price": price},
        )
        assert response.status_code == 201, response.json
        product_id = response.json["id"]
        if stock:
            response = caller.post(
                "/api/v1/stock-receipts",
                {"supermarket_id": supermarket.id, "kind": "donation", "source": "爱心企业",
                 "lines": [{"product_id": product_id, "quantity": stock}]},
            )
            assert response.status_code == 201, response.json
        if supermarket is self.supermarket:
            self.products[sku] = product_id
        return product_id

    def basket(self, *lines, caller=None, member=None, key=None, **extra):
        body = {
            "supermarket_id": self.supermarket.id,
            "member_id": (member or self.member).id,
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
            **extra,
        }
        return (caller or self.cashier).post("/api/v1/redemptions", body, key=key)

    def stock(self, sku_or_id) -> int:
        product_id = self.products.get(sku_or_id, sku_or_id)
        return self.world._run(lambda s: s.scalar(select(Product.stock).where(Product.id == product_id)))

    def snapshot(self) -> dict:
        """Everything a refused request must leave exactly as it was."""

        def work(s):
            count = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
            return {
                "transactions": count(ledger.Transaction),
                "entries": count(ledger.Entry),
                "redemptions": count(Redemption),
                "refunds": count(Refund),
                "movements": count(StockMovement),
                "stock": dict(s.execute(select(Product.id, Product.stock)).all()),
                "balances": dict(s.execute(select(ledger.Account.id, ledger.Account.balance)).all()),
            }

        return self.world._run(work)

    def market_sound(self) -> list:
        return self.world._run(lambda s: stock_discrepancies(s) + redemption_discrepancies(s))


def empty_shop(world: World) -> Shop:
    """A supermarket with its administrator and cashier, and a resident in a household: no products,
    no coins (the concurrency tests' and the pooler tests' shop)."""
    community = world.community()
    supermarket = world.supermarket(community)
    household = world.household(community)
    return Shop(
        world=world, community=community, supermarket=supermarket, admin=world.admin(community),
        cashier=world.staff("cashier", supermarket=supermarket), household=household,
        member=world.member(community, household=household), products={},
    )


@pytest.fixture
def shop(world) -> Shop:
    community = world.community()
    supermarket = world.supermarket(community)
    household = world.household(community, name="张家")
    member = world.member(community, name="张三丰", household=household, phone="13800000001")
    shop = Shop(
        world=world,
        community=community,
        supermarket=supermarket,
        admin=world.admin(community),
        cashier=world.staff("cashier", supermarket=supermarket),
        household=household,
        member=member,
        products={},
    )
    shop.add_product("RICE5", 40, 10, name="大米5斤")
    shop.add_product("OIL1", 25, 3, name="食用油")
    shop.add_product("SOAP", 5, 50, name="肥皂")
    world.credit(member, 100)
    world.credit(household, 60)
    return shop


def in_db(world: World, work):
    with world.app.app_context():
        return work(db.session)
