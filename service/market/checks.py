"""What nightly reconciliation checks of the supermarkets: stock against its movements, baskets and
refunds against their lines and ledger postings."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from ledger import AccountType
from ledger.verify import Discrepancy

from .models import Product, Redemption, RedemptionLine, Refund, RefundLine, StockMovement

# Stock leaves the shelf by a basket, an online reservation (预约) or a stock-take's loss; it comes in
# by a receipt, a refund, a reservation's release (picked up, lapsed or cancelled) or a stock-take's find.
# A stock-take (盘点) posts its differences as damaged / expired / lost (out) or found (in).
STOCK_TAKE_REASONS = ["damaged", "expired", "lost", "found"]
OUT_REASONS = ["redemption", "reservation", "damaged", "expired", "lost"]
IN_REASONS = ["receipt", "refund", "release", "found"]


def stock_discrepancies(session: Session) -> list[Discrepancy]:
    """Each product's stored stock equals the sum of its movements (receipts − redemptions + refunds),
    and each movement's sign fits its reason. For nightly reconciliation; [] when sound."""
    sums = (
        select(StockMovement.product_id, func.sum(StockMovement.quantity).label("total"))
        .group_by(StockMovement.product_id)
        .subquery()
    )
    found = [
        Discrepancy("stock", f"product:{product_id}", int(total or 0), int(stock))
        for product_id, stock, total in session.execute(
            select(Product.id, Product.stock, sums.c.total)
            .outerjoin(sums, sums.c.product_id == Product.id)
            .order_by(Product.id)
        )
        if int(total or 0) != int(stock)
    ]
    wrong_sign = session.execute(
        select(StockMovement.id, StockMovement.reason, StockMovement.quantity).where(
            ((StockMovement.reason.in_(OUT_REASONS)) & (StockMovement.quantity > 0))
            | ((StockMovement.reason.in_(IN_REASONS)) & (StockMovement.quantity < 0))
            | StockMovement.reason.not_in(OUT_REASONS + IN_REASONS)
            # a stock-take's difference belongs to its stock-take
            | (StockMovement.reason.in_(STOCK_TAKE_REASONS) & StockMovement.stock_take_id.is_(None))
        )
    ).all()
    found += [Discrepancy("stock_movement_sign", f"stock_movement:{i}", reason, int(q)) for i, reason, q in wrong_sign]
    return found


def redemption_discrepancies(session: Session) -> list[Discrepancy]:
    """Each basket's and refund's lines add up to its total and to what its ledger transaction
    moved into (or out of) the till; each basket line's amount and quantity match its price and
    stock movement; refunded quantities equal the refund lines."""
    found = []
    till_amounts = dict(
        session.execute(
            select(ledger.Entry.transaction_id, ledger.Entry.amount)
            .join(ledger.Account, ledger.Account.id == ledger.Entry.account_id)
            .where(ledger.Account.type == AccountType.SUPERMARKET_TILL.value)
        ).all()
    )
    # Outer joins: a basket or refund whose lines were all deleted sums to 0 and is found.
    for rid, total, tx_id, lines_sum in session.execute(
        select(Redemption.id, Redemption.total, Redemption.transaction_id, func.sum(RedemptionLine.amount))
        .outerjoin(RedemptionLine, RedemptionLine.redemption_id == Redemption.id)
        .group_by(Redemption.id, Redemption.total, Redemption.transaction_id)
    ):
        lines_sum = int(lines_sum or 0)
        if lines_sum != total or till_amounts.get(tx_id) != total:
            found.append(Discrepancy("redemption_total", f"redemption:{rid}", total, [lines_sum, till_amounts.get(tx_id)]))
    for fid, total, tx_id, lines_sum in session.execute(
        select(Refund.id, Refund.total, Refund.transaction_id, func.sum(RefundLine.amount))
        .outerjoin(RefundLine, RefundLine.refund_id == Refund.id)
        .group_by(Refund.id, Refund.total, Refund.transaction_id)
    ):
        lines_sum = int(lines_sum or 0)
        if lines_sum != total or till_amounts.get(tx_id) != -total:
            found.append(Discrepancy("refund_total", f"refund:{fid}", total, [lines_sum, till_amounts.get(tx_id)]))
    # Each basket line: amount = quantity × price, and its stock movement took exactly that quantity.
    moved = (
        select(StockMovement.redemption_id, StockMovement.product_id, func.sum(StockMovement.quantity).label("q"))
        .where(StockMovement.reason == "redemption")
        .group_by(StockMovement.redemption_id, StockMovement.product_id)
        .subquery()
    )
    for line_id, quantity, price, amount, taken in session.execute(
        select(RedemptionLine.id, RedemptionLine.quantity, RedemptionLine.unit_price, RedemptionLine.amount, moved.c.q)
        .outerjoin(
            moved,
            (moved.c.redemption_id == RedemptionLine.redemption_id) & (moved.c.product_id == RedemptionLine.product_id),
        )
    ):
        if amount != quantity * price or -int(taken or 0) != quantity:
            found.append(
                Discrepancy("redemption_line", f"redemption_line:{line_id}", [quantity, quantity * price],
                            [-int(taken or 0), amount])
            )
    refunded = (
        select(RefundLine.redemption_line_id, func.sum(RefundLine.quantity).label("q"))
        .group_by(RefundLine.redemption_line_id)
        .subquery()
    )
    for line_id, stored, summed in session.execute(
        select(RedemptionLine.id, RedemptionLine.refunded_quantity, refunded.c.q).outerjoin(
            refunded, refunded.c.redemption_line_id == RedemptionLine.id
        )
    ):
        if int(summed or 0) != stored:
            found.append(Discrepancy("refunded_quantity", f"redemption_line:{line_id}", int(summed or 0), stored))
    return found


# Found by nightly reconciliation (``service.jobs.verification.domain_checks``), run in this order.
RECONCILIATION_CHECKS = {"stock": stock_discrepancies, "redemptions": redemption_discrepancies}
