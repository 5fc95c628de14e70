"""Supervision's read-only lists (村务监督委员会): service records and awards of a community."""

from flask.views import MethodView

from ..auth.access import access, current_principal
from ..blueprint import Blueprint
from ..extensions import db
from . import operations
from .operations import OVERSEERS
from .schemas import OverseenAwardSchema, OverseenRecordSchema, OversightQuerySchema

blp = Blueprint("oversight", __name__, url_prefix="/api/v1",
                description="Supervision (村务监督委员会): what was recorded and approved, read-only")


@blp.route("/oversight/service-records")
class OverseenServiceRecords(MethodView):
    @access(*OVERSEERS)
    @blp.arguments(OversightQuerySchema, location="query")
    @blp.response(200, OverseenRecordSchema(many=True))
    def get(self, query):
        """Every service record of the community, newest first (``before``: the last id seen), with
        who recorded, verified and approved it, its evidence and its flags; by ``month`` and person."""
        return operations.list_service_records(db.session, current_principal(), **query)


@blp.route("/oversight/conduct-awards")
class OverseenAwards(MethodView):
    @access(*OVERSEERS)
    @blp.arguments(OversightQuerySchema, location="query")
    @blp.response(200, OverseenAwardSchema(many=True))
    def get(self, query):
        """Every good-conduct award and deduction of the community, newest first, with who recorded
        it, the note, the evidence and its flags; by ``month`` and person."""
        return operations.list_awards(db.session, current_principal(), **query)
