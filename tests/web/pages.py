"""Helpers for page tests with Flask's test client: sign in through the forms, post forms with
the CSRF token and form key the page rendered."""

from __future__ import annotations

import re
from html import unescape

from tests.factories import PASSWORD, PIN

HIDDEN = re.compile(r'<input type="hidden" name="(csrf_token|form_key)" value="([^"]*)"')


def hidden_fields(html: str) -> dict:
    return {name: unescape(value) for name, value in HIDDEN.findall(html)}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def post_form(client, path: str, data: dict, *, page: str | None = None, **kwargs):
    """Open ``page`` (default: the same path), take its hidden fields, post the form."""
    html = text_of(client.get(page or path))
    return client.post(path, data={**hidden_fields(html), **data}, **kwargs)


def staff_browser(app, caller) -> object:
    """A test client signed in through the staff form as the given ``world.staff`` caller."""
    client = app.test_client()
    response = post_form(client, "/sign-in/staff", {"username": caller.username, "password": PASSWORD})
    assert response.status_code == 302, text_of(response)
    return client


def resident_browser(app, member) -> object:
    client = app.test_client()
    response = post_form(client, "/sign-in/resident", {"card_code": member.card_code, "pin": PIN})
    assert response.status_code == 302, text_of(response)
    return client


def stocked_shop(world, community, products):
    """A supermarket with products in stock, through the market operations (as an administrator); each
    product is (sku, name, price, stock) or (sku, name, price, stock, barcode)."""
    from service.auth.access import Principal
    from service.auth.models import Role
    from service.market.operations import create_product, receive_stock

    shop = world.supermarket(community)
    admin = Principal(role=Role.ADMIN, community_id=community.id)

    def work(s):
        made = [create_product(s, admin, supermarket_id=shop.id, sku=row[0], name=row[1], price=row[2],
                               barcode=row[4] if len(row) > 4 else None)
                for row in products]
        receive_stock(s, admin, supermarket_id=shop.id, kind="donation", source="爱心企业",
                      lines=[{"product_id": p.id, "quantity": row[3]} for p, row in zip(made, products, strict=True) if row[3]])
        return made

    return shop, world._run(work)


def give_award(world, community, member, *, code: str, admin_id: int, station=None) -> int:
    """An award through the conduct operations (the community's example indicators)."""
    from service.auth.access import Principal
    from service.auth.models import Role
    from service.conduct.indicators import list_indicators, seed_default_indicators
    from service.conduct.operations import create_award

    def work(s):
        who = Principal(role=Role.ADMIN, staff_id=admin_id, community_id=community.id)
        seed_default_indicators(s, community.id)  # a no-op when the community has indicators
        indicator = next(i for i in list_indicators(s, who, community_id=community.id) if i.code == code)
        return create_award(
            s, who, indicator_id=indicator.id, member_id=member.id, note="测试", station_id=station.id if station else None
        ).id

    return world._run(work)
