"""Residents, households, balances and statements."""

from flask import current_app
from flask.views import MethodView

from ..auth.access import EVERYONE, STAFF, access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..bookkeeping import expiry
from ..bookkeeping.operations import describe_lines
from ..bookkeeping.schemas import ExpiringSchema
from ..extensions import db
from ..jobs import runs
from . import operations, stars
from .schemas import (
    BalanceSchema,
    MemberCreatedSchema,
    MemberCreateSchema,
    MemberQuerySchema,
    MemberSchema,
    StarsSchema,
    StatementQuerySchema,
    StatementSchema,
)

blp = Blueprint("members", __name__, url_prefix="/api/v1", description="Residents and households")


@blp.route("/members")
class Members(MethodView):
    @access(*STAFF)
    @blp.arguments(MemberQuerySchema, location="query")
    @blp.response(200, MemberSchema(many=True))
    def get(self, query):
        """Find residents by card code, phone, volunteer number or name, in the caller's scope."""
        principal = current_principal()
        community_id = principal.listing_community(query.pop("community_id", None))
        return operations.find_members(db.session, community_id=community_id, **query)

    @access(Role.ADMIN, Role.STATION_STAFF)
    @blp.arguments(MemberCreateSchema)
    @blp.response(201, MemberCreatedSchema)
    def post(self, data):
        """Register a resident; without a PIN one is generated and returned once."""
        current_principal().require_writer_in(data["community_id"])
        pin = data.pop("pin", None)
        initial_pin = None if pin else operations.new_pin()

        member = db.run(lambda s: operations.register_member(s, pin=pin or initial_pin, **data))
        # Plain values: @blp.response serialises them once (a dumped dict would be dumped twice).
        created = {name: getattr(member, name) for name in MemberSchema().fields}
        return {**created, **({"initial_pin": initial_pin} if initial_pin else {})}


def _member_in_scope(member_id: int):
    member = operations.get_member(db.session, member_id)
    current_principal().require_member(member.id, member.community_id)
    return member


@blp.route("/members/<int:member_id>")
class MemberById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, MemberSchema)
    def get(self, member_id):
        return _member_in_scope(member_id)


@blp.route("/members/<int:member_id>/balance")
class MemberBalance(MethodView):
    @access(*EVERYONE)
    @blp.response(200, BalanceSchema)
    def get(self, member_id):
        """Coins, time-bank minutes, lifetime volunteer minutes and star rating; O(1) in history."""
        return operations.member_balance(db.session, _member_in_scope(member_id))


@blp.route("/members/<int:member_id>/statement")
class MemberStatement(MethodView):
    @access(*EVERYONE)
    @blp.arguments(StatementQuerySchema, location="query")
    @blp.response(200, StatementSchema)
    def get(self, query, member_id):
        """Newest first; pass ``next_cursor`` back as ``before`` for the next page."""
        member = _member_in_scope(member_id)
        page = operations.member_statement(db.session, member, **query)
        return {"lines": describe_lines(db.session, page.lines), "next_cursor": page.next_cursor}


@blp.route("/members/<int:member_id>/stars")
class MemberStars(MethodView):
    @access(*EVERYONE)
    @blp.response(200, StarsSchema)
    def get(self, member_id):
        """The volunteer's star as the nightly run set it, and every change with its date and reason."""
        return stars.member_stars(db.session, _member_in_scope(member_id).id)


@blp.route("/members/<int:member_id>/expiring")
class MemberExpiring(MethodView):
    @access(*EVERYONE)
    @blp.response(200, ExpiringSchema)
    def get(self, member_id):
        """Coins that expire within 30 days unless spent (annual clearing 年度清零), for statements."""
        today = runs.local_today(current_app.config["TIMEZONE"])
        return expiry.expiring_soon(db.session, _member_in_scope(member_id), today)


from . import household_api  # noqa: E402,F401  (the /households routes, on this blueprint)
