"""``/stock-takes`` and ``/products/<id>/price-changes`` (on the market blueprint)."""

from __future__ import annotations

from flask.views import MethodView

from ..auth.access import access, current_principal
from ..auth.models import Role
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent
from . import shelf
from .api import COUNTER, READERS, blp
from .schemas import (
    MarketListQuerySchema,
    PriceChangeCreateSchema,
    PriceChangeSchema,
    StockTakeCreateSchema,
    StockTakeSchema,
)


@blp.route("/stock-takes")
class StockTakes(MethodView):
    @access(*READERS)
    @blp.arguments(MarketListQuerySchema, location="query")
    @blp.response(200, StockTakeSchema(many=True))
    def get(self, query):
        """Stock-takes (盘点), newest first, with each counted line and the difference posted."""
        principal = current_principal()
        return [shelf.stock_take_view(db.session, t) for t in shelf.list_stock_takes(db.session, principal, **query)]

    @access(*COUNTER)
    @blp.arguments(StockTakeCreateSchema)
    @blp.response(201, StockTakeSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Count the shelf: each difference from the stored count becomes a recorded stock movement with
        the reason (damaged, expired, lost, found); audit-logged."""
        principal = current_principal()

        def work(session):
            return StockTakeSchema().dump(shelf.stock_take_view(session, shelf.take_stock(session, principal, **data))), 201

        return idempotent(data, work)


@blp.route("/stock-takes/<int:stock_take_id>")
class StockTakeById(MethodView):
    @access(*READERS)
    @blp.response(200, StockTakeSchema)
    def get(self, stock_take_id):
        take = shelf.get_stock_take(db.session, current_principal(), stock_take_id)
        return shelf.stock_take_view(db.session, take)


@blp.route("/products/<int:product_id>/price-changes")
class PriceChanges(MethodView):
    @access(*READERS)
    @blp.response(200, PriceChangeSchema(many=True))
    def get(self, product_id):
        """The product's price changes, newest first (applied or still to come)."""
        return shelf.price_changes(db.session, current_principal(), product_id)

    @access(Role.ADMIN)
    @blp.arguments(PriceChangeCreateSchema)
    @blp.response(201, PriceChangeSchema)
    def post(self, data, product_id):
        """A new price from a date (default today): applied at once when the date has come, else in the
        night to that date; baskets keep the price they were sold at (audit-logged)."""
        principal = current_principal()
        return db.run(lambda s: shelf.change_price(s, principal, product_id, **data))
