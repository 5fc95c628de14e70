"""Reserve online, pick up at the counter (预约兑换)."""

from flask.views import MethodView

import ledger

from ..auth.access import access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent
from . import operations
from .schemas import ReservationCodeSchema, ReservationCreateSchema, ReservationQuerySchema, ReservationSchema

blp = Blueprint("reservations", __name__, url_prefix="/api/v1", description="Reserve online, pick up (预约兑换)")


def with_lines(session, reservation):
    reservation.lines = operations.lines_of(session, reservation)
    return reservation


def reservation_body(session, reservation) -> dict:
    return ReservationSchema().dump(with_lines(session, reservation))


@blp.route("/reservations")
class Reservations(MethodView):
    @access(Role.RESIDENT, Role.CASHIER, Role.ADMIN, Role.SUPERVISOR)
    @blp.arguments(ReservationQuerySchema, location="query")
    @blp.response(200, ReservationSchema(many=True))
    def get(self, query):
        """A resident's own (overdue ones lapse as they are read); a cashier's supermarket's."""
        principal = current_principal()

        def work(session):
            if principal.role == Role.RESIDENT:
                operations.lapse_due(session, ledger.utcnow(), member_id=principal.member_id)
            listed = operations.list_reservations(session, principal, **query)
            lines = operations.lines_for(session, listed)
            for reservation in listed:
                reservation.lines = lines[reservation.id]
            return listed

        return db.run(work)

    @access(Role.RESIDENT)
    @blp.arguments(ReservationCreateSchema)
    @blp.response(201, ReservationSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Reserve goods: their stock is set aside and their coins held until pickup (3 days)."""
        principal = current_principal()
        return idempotent(data, lambda s: (reservation_body(s, operations.reserve(s, principal, **data)), 201))


@blp.route("/reservations/<int:reservation_id>/cancel")
class ReservationCancel(MethodView):
    @access(Role.RESIDENT)
    @blp.response(200, ReservationSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, reservation_id):
        """Cancel: coins and stock go back at once."""
        principal = current_principal()
        return idempotent(
            {"reservation_id": reservation_id},
            lambda s: (reservation_body(s, operations.cancel(s, principal, reservation_id)), 200),
        )


@blp.route("/reservations/lookup")
class ReservationLookup(MethodView):
    @access(Role.CASHIER, Role.ADMIN)
    @blp.arguments(ReservationCodeSchema)
    @blp.response(200, ReservationSchema)
    def post(self, data):
        """The counter reads a scanned reservation before handing the goods over (code in the body)."""
        return with_lines(db.session, operations.find_for_counter(db.session, current_principal(), data["code"]))


@blp.route("/reservations/pickup")
class ReservationPickup(MethodView):
    @access(Role.CASHIER, Role.ADMIN)
    @blp.arguments(ReservationCodeSchema)
    @blp.response(200, ReservationSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Hand the goods over: the hold is released and the basket redeemed, in one unit of work;
        the answer names the redemption (its receipt is the ordinary one)."""
        principal = current_principal()

        def work(session):
            reservation, _redemption = operations.pick_up(session, principal, code=data["code"])
            return reservation_body(session, reservation), 200

        return idempotent(data, work)
