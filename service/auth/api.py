"""Tokens for staff and residents, and staff accounts."""

from flask import current_app, request
from flask.views import MethodView
from sqlalchemy import select

from ..blueprint import Blueprint
from ..errors import Forbidden
from ..extensions import db, limiter
from .access import EVERYONE, access, current_principal, public
from .models import Role, Staff
from .operations import create_staff, login_resident, login_staff
from .schemas import (
    ResidentTokenRequestSchema,
    StaffCreateSchema,
    StaffSchema,
    TokenRequestSchema,
    TokenSchema,
    WhoAmISchema,
)

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Authentication and staff")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_key() -> str:
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}  # a JSON list or number is refused by the schema
    who = body.get("username") or body.get("card_code") or ""
    return f"{request.remote_addr}|{str(who)[:64]}"


# Only failed attempts count: a legitimate user is never locked out by their own successes.
_failed_login_limit = limiter.limit(
    _login_limit, key_func=_login_key, deduct_when=lambda response: response.status_code == 401
)


@blp.route("/auth/token")
class StaffToken(MethodView):
    decorators = [_failed_login_limit]

    @public
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Exchange a staff username and password for a bearer token that expires."""
        token, expires_at = db.run(lambda s: login_staff(s, data["username"], data["password"]))
        return {"token": token, "expires_at": expires_at}


@blp.route("/auth/resident-token")
class ResidentToken(MethodView):
    decorators = [_failed_login_limit]

    @public
    @blp.arguments(ResidentTokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Residents sign in with their member card code and PIN."""
        token, expires_at = db.run(lambda s: login_resident(s, data["card_code"], data["pin"]))
        return {"token": token, "expires_at": expires_at}


@blp.route("/auth/me")
class WhoAmI(MethodView):
    @access(*EVERYONE)
    @blp.response(200, WhoAmISchema)
    def get(self):
        return current_principal()


@blp.route("/staff")
class StaffList(MethodView):
    @access(Role.ADMIN, Role.SUPERVISOR)
    @blp.response(200, StaffSchema(many=True))
    def get(self):
        principal = current_principal()
        query = select(Staff).order_by(Staff.id)
        if not principal.is_city_admin:
            query = query.where(Staff.community_id == principal.community_id)
        return db.session.scalars(query).all()

    @access(Role.ADMIN)
    @blp.arguments(StaffCreateSchema)
    @blp.response(201, StaffSchema)
    def post(self, data):
        """Create a staff account; community administrators create staff of their own community."""
        principal = current_principal()

        def work(session):
            staff = create_staff(session, **data)
            if not principal.is_city_admin and staff.community_id != principal.community_id:
                raise Forbidden("you can create staff of your own community only")
            return staff

        return db.run(work)
