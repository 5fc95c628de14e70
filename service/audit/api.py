"""Reading the audit log: administrators and supervisors of the community (SPEC §2)."""

from flask.views import MethodView

from ..auth.access import access, current_principal
from ..auth.models import Role
from ..auth.operations import actor_names
from ..blueprint import Blueprint
from ..extensions import db
from . import operations
from .schemas import AuditPageSchema, AuditQuerySchema

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="The audit log of administrative changes")


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @access(Role.ADMIN, Role.SUPERVISOR)
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, query):
        """Who changed what, when, before → after; newest first. Pass ``next_cursor`` back as
        ``before`` for the next page. Personal fields appear only as "(changed)"."""
        community_id = current_principal().listing_community(query.pop("community_id", None))
        events, cursor = operations.list_events(db.session, community_id=community_id, **query)
        names = actor_names(db.session, events)
        rows = [
            {**{c.name: getattr(e, c.name) for c in e.__table__.columns}, "actor_name": names.get(e.actor_staff_id)}
            for e in events
        ]
        return {"events": rows, "next_cursor": cursor}
