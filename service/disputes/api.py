"""Disputes of statement lines, their answers, and each community's deadlines."""

from flask.views import MethodView

from .. import flows
from ..auth.access import EVERYONE, access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent
from . import operations
from .schemas import (
    DisputeCreateSchema,
    DisputePolicySchema,
    DisputeQuerySchema,
    DisputeResolveSchema,
    DisputeSchema,
)

blp = Blueprint("disputes", __name__, url_prefix="/api/v1", description="Disputes of statement lines (异议)")


@blp.route("/disputes")
class Disputes(MethodView):
    @access(*EVERYONE)
    @blp.arguments(DisputeQuerySchema, location="query")
    @blp.response(200, DisputeSchema(many=True))
    def get(self, query):
        """A resident's own disputes; staff and supervisors: their community's, newest first."""
        return operations.list_disputes(db.session, current_principal(), **query)

    @access(Role.RESIDENT, Role.STATION_STAFF, Role.ADMIN)
    @blp.arguments(DisputeCreateSchema)
    @blp.response(201, DisputeSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Dispute a line of a statement within the community's window (default 30 days)."""
        principal = current_principal()
        return idempotent(
            data, lambda s: (DisputeSchema().dump(operations.open_dispute(s, principal, **data)), 201)
        )


@blp.route("/disputes/<int:dispute_id>")
class DisputeById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, DisputeSchema)
    def get(self, dispute_id):
        return operations.get_dispute(db.session, current_principal(), dispute_id)


@blp.route("/disputes/<int:dispute_id>/resolve")
class DisputeResolution(MethodView):
    @access(Role.STATION_STAFF, Role.ADMIN)
    @blp.arguments(DisputeResolveSchema)
    @blp.response(200, DisputeSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data, dispute_id):
        """Keep the line (with a reason) or correct it through the reversal of what it came from."""
        principal = current_principal()
        return idempotent(
            {"dispute_id": dispute_id, **data},
            lambda s: (DisputeSchema().dump(flows.resolve_dispute(s, principal, dispute_id, **data)), 200),
        )


@blp.route("/communities/<int:community_id>/dispute-policy")
class DisputePolicyView(MethodView):
    @access(Role.ADMIN, Role.SUPERVISOR, Role.STATION_STAFF)
    @blp.response(200, DisputePolicySchema)
    def get(self, community_id):
        current_principal().require_community(community_id, what="community")
        return operations.policy_for(db.session, community_id)

    @access(Role.ADMIN)
    @blp.arguments(DisputePolicySchema)
    @blp.response(200, DisputePolicySchema)
    def patch(self, data, community_id):
        """Set the dispute window and the answer deadline (audit-logged)."""
        principal = current_principal()
        return db.run(lambda s: operations.set_policy(s, principal, community_id, data))
