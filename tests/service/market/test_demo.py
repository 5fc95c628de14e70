"""The supermarket demo step: a stocked catalogue, months of baskets, refunds; the book stays sound."""

from __future__ import annotations

import random

from sqlalchemy import func, select

import ledger
from service.demo import DemoContext, _foundation
from service.extensions import db
from service.market import demo
from service.market.models import Product, Redemption, Refund, StockReceipt
from service.market.operations import redemption_discrepancies, stock_discrepancies


def _run_demo(app, seed: int) -> dict:
    with app.app_context():
        session = db.session
        ctx = DemoContext(session=session, rng=random.Random(seed), now=ledger.utcnow(), months=4)
        _foundation(ctx, 40)
        session.flush()
        demo.generate(ctx)
        session.commit()
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        return {
            "products": count(Product),
            "receipts": count(StockReceipt),
            "redemptions": count(Redemption),
            "refunds": count(Refund),
            "baskets": [(r.member_id, r.total) for r in session.scalars(select(Redemption).order_by(Redemption.id))],
            "oldest": session.scalar(select(func.min(Redemption.created_at))),
            "discrepancies": stock_discrepancies(session) + redemption_discrepancies(session),
        }


def test_demo_stocks_the_shelves_and_records_months_of_baskets(app, world):
    result = _run_demo(app, seed=5)
    assert result["products"] == 2 * len(demo.CATALOGUE) and result["receipts"] == 2 * 5
    assert result["redemptions"] >= 40 and result["refunds"] == 2
    assert (ledger.utcnow() - result["oldest"]).days >= 20
    assert result["discrepancies"] == []
    assert world.invariants() == {}
