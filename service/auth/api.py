"""Tokens for staff and residents, staff accounts and their lifecycle."""

from flask import current_app, request
from flask.views import MethodView
from sqlalchemy import select

from ..blueprint import Blueprint
from ..errors import Forbidden
from ..extensions import db, limiter
from .access import EVERYONE, access, before_password_change, current_principal, public
from .identity import sign_in_address_key, sign_in_limit_key
from .models import Role, Staff, TokenKind
from .operations import (
    change_own_password,
    create_staff,
    deactivate_staff,
    login_resident,
    login_staff,
    reactivate_staff,
    reset_staff_password,
    revoke_token,
    sign_out_everywhere,
)
from .schemas import (
    PasswordChangeSchema,
    PasswordResetSchema,
    ResidentTokenRequestSchema,
    SignedOutSchema,
    StaffCreateSchema,
    StaffSchema,
    TokenRequestSchema,
    TokenSchema,
    WhoAmISchema,
)

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Authentication and staff")


def _failed(response) -> bool:
    return response.status_code == 401


# Only failed attempts count: a legitimate user is never limited by their own successes. Both keys
# use the identity as the look-up resolves it (see .identity); the account lockout is in .lockout.
sign_in_limits = [
    limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=sign_in_limit_key, deduct_when=_failed,
                  methods=["POST"]),
    limiter.limit(lambda: current_app.config["LOGIN_ADDRESS_RATE_LIMIT"], key_func=sign_in_address_key,
                  deduct_when=_failed, methods=["POST"]),
]


def _bearer() -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()


@blp.route("/auth/token")
class StaffToken(MethodView):
    decorators = sign_in_limits

    @public
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Exchange a staff username and password for a bearer token that expires.

        After 10 failures in a row the account is locked (429 ``account_locked`` with
        ``details.retry_at``), from any address and even for the right password."""
        result = db.run(lambda s: login_staff(s, data["username"], data["password"]))
        result.raise_for_failure()
        return {"token": result.token, "expires_at": result.expires_at}


@blp.route("/auth/resident-token")
class ResidentToken(MethodView):
    decorators = sign_in_limits

    @public
    @blp.arguments(ResidentTokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Residents sign in with their card code or phone number, and their PIN."""
        result = db.run(
            lambda s: login_resident(s, data.get("card_code"), data["pin"], phone=data.get("phone"))
        )
        result.raise_for_failure()
        return {"token": result.token, "expires_at": result.expires_at}


@blp.route("/auth/me")
class WhoAmI(MethodView):
    @access(*EVERYONE)
    @before_password_change
    @blp.response(200, WhoAmISchema)
    def get(self):
        return current_principal()


@blp.route("/auth/password")
class OwnPassword(MethodView):
    @access(Role.ADMIN, Role.STATION_STAFF, Role.CASHIER, Role.SUPERVISOR)
    @before_password_change
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def post(self, data):
        """Change your own password (also the one-time one after a reset); your other sessions end."""
        principal, token = current_principal(), _bearer()
        result = db.run(
            lambda s: change_own_password(
                s, principal, current=data["current_password"], new=data["new_password"], keep=token
            )
        )
        result.raise_for_failure()


@blp.route("/auth/sign-out")
class SignOut(MethodView):
    @access(*EVERYONE)
    @before_password_change
    @blp.response(204)
    def post(self):
        """Revoke this token."""
        token = _bearer()
        db.run(lambda s: revoke_token(s, token, kind=TokenKind.API))


@blp.route("/auth/sign-out-everywhere")
class SignOutEverywhere(MethodView):
    @access(*EVERYONE)
    @before_password_change
    @blp.response(200, SignedOutSchema)
    def post(self):
        """Revoke every token and browser session of yours, this one included."""
        principal = current_principal()
        return {"sessions_revoked": db.run(lambda s: sign_out_everywhere(s, principal))}


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


@blp.route("/staff/<int:staff_id>/deactivate")
class StaffDeactivation(MethodView):
    @access(Role.ADMIN)
    @blp.response(200, StaffSchema)
    def post(self, staff_id):
        """Deactivate a staff account: every token and browser session of it stops working at once."""
        principal = current_principal()
        return db.run(lambda s: deactivate_staff(s, principal, staff_id))


@blp.route("/staff/<int:staff_id>/reactivate")
class StaffReactivation(MethodView):
    @access(Role.ADMIN)
    @blp.response(200, StaffSchema)
    def post(self, staff_id):
        """Let a deactivated staff member sign in again (old tokens stay revoked)."""
        principal = current_principal()
        return db.run(lambda s: reactivate_staff(s, principal, staff_id))


@blp.route("/staff/<int:staff_id>/password-reset")
class StaffPasswordReset(MethodView):
    @access(Role.ADMIN)
    @blp.response(200, PasswordResetSchema)
    def post(self, staff_id):
        """Give a staff member a one-time password (shown once) that must be changed at sign-in."""
        principal = current_principal()
        staff, one_time = db.run(lambda s: reset_staff_password(s, principal, staff_id))
        return {"staff": staff, "one_time_password": one_time}
