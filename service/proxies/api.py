"""Helpers (代办) who act for an elderly resident."""

from flask.views import MethodView

from ..auth.access import EVERYONE, access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..extensions import db
from . import operations
from .schemas import ActingForSchema, HelperGrantCreateSchema, HelperGrantSchema

blp = Blueprint("proxies", __name__, url_prefix="/api/v1", description="Helpers acting for a resident (代办)")


@blp.route("/helper-grants")
class HelperGrants(MethodView):
    @access(Role.RESIDENT, Role.STATION_STAFF, Role.ADMIN)
    @blp.arguments(HelperGrantCreateSchema)
    @blp.response(201, HelperGrantSchema)
    def post(self, data):
        """Name a helper: the resident themself, or the desk for them (audit-logged)."""
        principal = current_principal()
        return db.run(lambda s: operations.grant_helper(s, principal, **data))


@blp.route("/helper-grants/<int:grant_id>/revoke")
class HelperGrantRevocation(MethodView):
    @access(Role.RESIDENT, Role.STATION_STAFF, Role.ADMIN)
    @blp.response(200, HelperGrantSchema)
    def post(self, grant_id):
        """Withdraw a helper at once (the resident or the desk; audit-logged)."""
        principal = current_principal()
        return db.run(lambda s: operations.revoke_helper(s, principal, grant_id))


@blp.route("/members/<int:member_id>/helpers")
class MemberHelpers(MethodView):
    @access(*EVERYONE)
    @blp.response(200, HelperGrantSchema(many=True))
    def get(self, member_id):
        """Who may act for this resident, and who did (withdrawn grants stay listed)."""
        return operations.list_grants(db.session, current_principal(), member_id)


@blp.route("/acting-for")
class ActingFor(MethodView):
    @access(Role.RESIDENT)
    @blp.response(200, ActingForSchema(many=True))
    def get(self):
        """For a helper: the residents they act for, with only their coins, hours and cap left."""
        return operations.acting_for(db.session, current_principal())
