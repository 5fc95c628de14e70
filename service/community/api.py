"""Communities, volunteer stations and supermarkets."""

from flask.views import MethodView
from sqlalchemy import select

from .. import flows
from ..auth.access import STAFF, access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..errors import Forbidden
from ..extensions import db
from . import operations
from .models import Community, Station, Supermarket
from .schemas import (
    CommunityCreateSchema,
    CommunitySchema,
    CommunitySettingsSchema,
    PlaceCreateSchema,
    PlaceSchema,
)

blp = Blueprint("communities", __name__, url_prefix="/api/v1", description="Communities and their places")


def _scoped(model, query):
    principal = current_principal()
    if not principal.is_city_admin:
        column = model.id if model is Community else model.community_id
        query = query.where(column == principal.community_id)
    return query


@blp.route("/communities")
class Communities(MethodView):
    @access(*STAFF)
    @blp.response(200, CommunitySchema(many=True))
    def get(self):
        """Communities the caller can see."""
        return db.session.scalars(_scoped(Community, select(Community).order_by(Community.id))).all()

    @access(Role.ADMIN)
    @blp.arguments(CommunityCreateSchema)
    @blp.response(201, CommunitySchema)
    def post(self, data):
        """Create a community with its issuance and expiry accounts (city administrators)."""
        if not current_principal().is_city_admin:
            raise Forbidden("only a city administrator may create communities")
        return db.run(lambda s: flows.open_community(s, **data))


@blp.route("/communities/<int:community_id>")
class CommunityById(MethodView):
    @access(*STAFF)
    @blp.response(200, CommunitySchema)
    def get(self, community_id):
        current_principal().require_community(community_id, what="community")
        return operations.get_community(db.session, community_id)

    @access(Role.ADMIN)
    @blp.arguments(CommunitySettingsSchema)
    @blp.response(200, CommunitySchema)
    def patch(self, changes, community_id):
        """Change rates, caps and rules; past postings keep the values they were made with."""
        principal = current_principal()
        principal.require_admin_of(community_id)

        def work(session):
            community = operations.get_community(session, community_id)
            return operations.update_community(session, community, changes, principal=principal)

        return db.run(work)


def _place_routes(path: str, model, create, label: str):
    @blp.route(path, endpoint=f"{label}_list")
    class Places(MethodView):
        @access(*STAFF)
        @blp.response(200, PlaceSchema(many=True))
        def get(self):
            return db.session.scalars(_scoped(model, select(model).order_by(model.id))).all()

        @access(Role.ADMIN)
        @blp.arguments(PlaceCreateSchema)
        @blp.response(201, PlaceSchema)
        def post(self, data):
            current_principal().require_admin_of(data["community_id"])
            return db.run(lambda s: create(s, **data))

    Places.__doc__ = f"{label.title()} of the communities the caller can see."
    return Places


_place_routes("/stations", Station, operations.create_station, "stations")
_place_routes("/supermarkets", Supermarket, operations.create_supermarket, "supermarkets")
