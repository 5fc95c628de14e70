"""The market's reconciliation checks find records edited or deleted straight in the database."""

from __future__ import annotations

from sqlalchemy import text


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
