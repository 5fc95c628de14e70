"""The market's reconciliation checks find records edited or deleted straight in the database."""

from __future__ import annotations

import tracemalloc
import uuid

from sqlalchemy import text

import ledger
from ledger import AccountType
from ledger.bulk import Posting, post_groups
from service.community.models import Supermarket
from service.community.operations import issuance_account, till_account
from service.market.checks import redemption_discrepancies
from service.market.models import Redemption, RedemptionLine, StockMovement
from service.members.models import Member
from service.members.operations import member_wallet


def _sql(shop, statement: str, **params) -> None:
    def work(s):
        s.execute(text(statement), params)

    shop.world._run(work)


def test_a_basket_whose_lines_were_deleted_is_found(shop):
    basket = shop.basket(("SOAP", 2)).json
    assert shop.market_sound() == []
    _sql(shop, "DELETE FROM redemption_lines WHERE redemption_id = :r", r=basket["id"])
    found = [(d.check, d.subject) for d in shop.market_sound()]
    assert ("redemption_total", f"redemption:{basket['id']}") in found


def test_an_edited_line_quantity_is_found(shop):
    basket = shop.basket(("SOAP", 2)).json
    line_id = basket["lines"][0]["id"]
    _sql(shop, "UPDATE redemption_lines SET quantity = 5 WHERE id = :l", l=line_id)
    found = {(d.check, d.subject) for d in shop.market_sound()}
    assert ("redemption_line", f"redemption_line:{line_id}") in found


def _tamper(shop, statement: str, **params) -> None:
    """Edit the database straight, past the append-only triggers (as an attacker would)."""
    engine = shop.world.app.extensions["greencoin_db"][0]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for (name,) in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
                connection.execute(text(f'DROP TRIGGER "{name}"'))
        connection.execute(text(statement), params)


_TILL_ENTRY = (f"transaction_id = :tx AND account_id IN "
               f"(SELECT id FROM ledger_accounts WHERE type = '{AccountType.SUPERMARKET_TILL.value}')")


def _redemption_checks(shop) -> list[tuple]:
    found = shop.world._run(redemption_discrepancies)
    return sorted((d.check, d.subject, d.expected, d.actual) for d in found)


def test_a_basket_or_refund_whose_till_entry_was_edited_or_deleted_is_reported_with_both_amounts(shop):
    edited, deleted, refunded, relined = (shop.basket(*lines).json for lines in (
        [("SOAP", 2)], [("RICE5", 1)], [("SOAP", 3), ("OIL1", 1)], [("SOAP", 1)]))
    line = refunded["lines"][0]
    refund = shop.cashier.post(f"/api/v1/redemptions/{refunded['id']}/refund",
                               {"reason": "多拿了", "lines": [{"line_id": line["id"], "quantity": 1}]}).json
    assert _redemption_checks(shop) == []
    _tamper(shop, f"UPDATE ledger_entries SET amount = amount + 5 WHERE {_TILL_ENTRY}", tx=edited["transaction_id"])
    _tamper(shop, f"DELETE FROM ledger_entries WHERE {_TILL_ENTRY}", tx=deleted["transaction_id"])
    _tamper(shop, f"UPDATE ledger_entries SET amount = -1 WHERE {_TILL_ENTRY}", tx=refund["transaction_id"])
    _tamper(shop, "UPDATE redemption_lines SET amount = 7 WHERE id = :l", l=relined["lines"][0]["id"])
    assert _redemption_checks(shop) == sorted([
        ("redemption_total", f"redemption:{edited['id']}", 10, [10, 15]),
        ("redemption_total", f"redemption:{deleted['id']}", 40, [40, None]),
        ("refund_total", f"refund:{refund['id']}", 5, [5, -1]),
        ("redemption_total", f"redemption:{relined['id']}", 5, [7, 5]),
        ("redemption_line", f"redemption_line:{relined['lines'][0]['id']}", [1, 5], [1, 7]),
    ])


def test_a_refund_whose_lines_or_refunded_quantities_were_edited_is_reported(shop):
    basket = shop.basket(("SOAP", 4)).json
    line = basket["lines"][0]
    refund = shop.cashier.post(f"/api/v1/redemptions/{basket['id']}/refund",
                               {"reason": "多拿了", "lines": [{"line_id": line["id"], "quantity": 2}]}).json
    _tamper(shop, "DELETE FROM redemption_refund_lines WHERE refund_id = :f", f=refund["id"])
    _tamper(shop, "DELETE FROM stock_movements WHERE redemption_id = :r", r=basket["id"])
    assert _redemption_checks(shop) == sorted([
        ("refund_total", f"refund:{refund['id']}", 10, [0, -10]),
        ("refunded_quantity", f"redemption_line:{line['id']}", 0, 2),
        ("redemption_line", f"redemption_line:{line['id']}", [4, 20], [0, 20]),
    ])


def _grow_book(shop, baskets: int) -> None:
    """``baskets`` more sound baskets of one soap each, written straight to the tables (their till
    postings through ``ledger.bulk``), so a check sees a bigger book without the counter's cost."""

    def work(s):
        till = till_account(s, s.get(Supermarket, shop.supermarket.id)).id
        issuance = issuance_account(s, shop.community.id, ledger.Unit.COIN).id
        wallet = member_wallet(s, s.get(Member, shop.member.id), ledger.Unit.COIN).id
        posted = post_groups(s, [[Posting(lines=[ledger.Line(till, 5), ledger.Line(issuance, -5)],
                                          idempotency_key=f"grow:{uuid.uuid4()}", kind="redemption",
                                          community_id=shop.community.id)] for _ in range(baskets)])
        redemptions = [Redemption(supermarket_id=shop.supermarket.id, community_id=shop.community.id,
                                  member_id=shop.member.id, paid_from="member", wallet_account_id=wallet,
                                  transaction_id=p.transaction_id, total=5, balance_after=0)
                       for [p] in posted]
        s.add_all(redemptions)
        s.flush()
        soap = shop.products["SOAP"]
        s.add_all(RedemptionLine(redemption_id=r.id, product_id=soap, sku="SOAP", name="肥皂", quantity=1, unit_price=5,
                                 amount=5) for r in redemptions)
        s.add_all(StockMovement(product_id=soap, supermarket_id=shop.supermarket.id, reason="redemption", quantity=-1,
                                stock_after=0, redemption_id=r.id) for r in redemptions)

    shop.world._run(work)


def _peak_bytes(shop) -> int:
    def work(s):
        redemption_discrepancies(s)  # statements compiled and cached before measuring
        tracemalloc.start()
        try:
            assert redemption_discrepancies(s) == []
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    return shop.world._run(work)


def test_the_redemption_check_does_not_hold_the_book_in_memory(shop):
    _grow_book(shop, 100)
    small = _peak_bytes(shop)
    _grow_book(shop, 2000)
    large = _peak_bytes(shop)
    assert large < small + 100_000, (small, large)  # a row of the book held per basket would add ~400,000


def test_an_incremental_run_checks_the_baskets_and_refunds_its_transactions_posted(shop):
    """Scoped to the day's ledger transactions: its baskets, its refunds and the (older) basket
    lines those refunds return; an older basket is left to the full run."""
    old, new = shop.basket(("SOAP", 4)).json, shop.basket(("SOAP", 1)).json
    line = old["lines"][0]
    refund = shop.cashier.post(f"/api/v1/redemptions/{old['id']}/refund",
                               {"reason": "多拿了", "lines": [{"line_id": line["id"], "quantity": 2}]}).json
    _tamper(shop, f"UPDATE ledger_entries SET amount = amount + 5 WHERE {_TILL_ENTRY}", tx=old["transaction_id"])
    _tamper(shop, f"UPDATE ledger_entries SET amount = amount + 5 WHERE {_TILL_ENTRY}", tx=new["transaction_id"])
    _tamper(shop, "UPDATE redemption_refund_lines SET quantity = 1 WHERE refund_id = :f", f=refund["id"])
    day = sorted([new["transaction_id"], refund["transaction_id"]])
    found = shop.world._run(lambda s: redemption_discrepancies(s, transactions=day))
    assert sorted((d.check, d.subject) for d in found) == sorted([
        ("redemption_total", f"redemption:{new['id']}"),
        ("refunded_quantity", f"redemption_line:{line['id']}"),
    ])
    everything = {(d.check, d.subject) for d in shop.world._run(redemption_discrepancies)}
    assert ("redemption_total", f"redemption:{old['id']}") in everything
    assert shop.world._run(lambda s: redemption_discrepancies(s, transactions=[])) == []
