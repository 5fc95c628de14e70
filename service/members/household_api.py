"""The ``/households`` routes: create, list, change, members in and out, the head, the wallet."""

from __future__ import annotations

from flask.views import MethodView

from ..auth.access import access, current_principal
from ..auth.models import Role
from ..extensions import db
from ..flows import household_wallet_view
from ..schemas import PageQuerySchema
from . import households
from .api import blp
from .schemas import (
    HouseholdCreateSchema,
    HouseholdDetailSchema,
    HouseholdListedSchema,
    HouseholdMemberAddSchema,
    HouseholdMemberSchema,
    HouseholdQuerySchema,
    HouseholdSchema,
    HouseholdUpdateSchema,
    HouseholdWalletSchema,
)

WRITERS = (Role.ADMIN, Role.STATION_STAFF)
# Names and addresses are personal: not for cashiers, who have the counter look-up (SPEC §3).
READERS = (Role.ADMIN, Role.STATION_STAFF, Role.SUPERVISOR)


def _fields(household) -> dict:
    return {k: getattr(household, k) for k in ("id", "community_id", "name", "address", "head_member_id", "created_at")}


def _detail(session, household) -> dict:
    members = households.members_of(session, household)
    return {**_fields(household), "members": [_member_row(household, m) for m in members]}


def _member_row(household, member) -> dict:
    return {"id": member.id, "name": member.name, "volunteer_number": member.volunteer_number,
            "is_head": household.head_member_id == member.id}


@blp.route("/households")
class Households(MethodView):
    @access(*READERS)
    @blp.arguments(HouseholdQuerySchema, location="query")
    @blp.response(200, HouseholdListedSchema(many=True))
    def get(self, query):
        """Households newest first, with their member counts; ``q`` searches name and address."""
        rows = households.list_households(db.session, current_principal(), **query)
        return [{**_fields(r["household"]), "member_count": r["member_count"]} for r in rows]

    @access(*WRITERS)
    @blp.arguments(HouseholdCreateSchema)
    @blp.response(201, HouseholdSchema)
    def post(self, data):
        """Create a household (audit-logged); ``head_member_id`` puts that resident in it as head."""
        principal = current_principal()
        return db.run(lambda s: households.create_household(s, principal, **data))


@blp.route("/households/<int:household_id>")
class HouseholdById(MethodView):
    @access(*READERS)
    @blp.response(200, HouseholdDetailSchema)
    def get(self, household_id):
        """A household with its members and who heads it."""
        return _detail(db.session, households.household_in_scope(db.session, current_principal(), household_id))

    @access(*WRITERS)
    @blp.arguments(HouseholdUpdateSchema)
    @blp.response(200, HouseholdDetailSchema)
    def patch(self, changes, household_id):
        """Rename it, change the address, name the head (a member) or none (audit-logged)."""
        principal = current_principal()
        return db.run(lambda s: _detail(s, households.update_household(s, principal, household_id, changes)))


@blp.route("/households/<int:household_id>/members")
class HouseholdMembers(MethodView):
    @access(*READERS)
    @blp.response(200, HouseholdMemberSchema(many=True))
    def get(self, household_id):
        household = households.household_in_scope(db.session, current_principal(), household_id)
        return [_member_row(household, m) for m in households.members_of(db.session, household)]

    @access(*WRITERS)
    @blp.arguments(HouseholdMemberAddSchema)
    @blp.response(201, HouseholdDetailSchema)
    def post(self, data, household_id):
        """Add a resident of the same community (moving them out of their old household)."""
        principal = current_principal()

        def work(s):
            households.add_member(s, principal, household_id, data["member_id"])
            return _detail(s, households.household_in_scope(s, principal, household_id))

        return db.run(work)


@blp.route("/households/<int:household_id>/members/<int:member_id>")
class HouseholdMember(MethodView):
    @access(*WRITERS)
    @blp.response(200, HouseholdDetailSchema)
    def delete(self, household_id, member_id):
        """Take a resident out of the household (a head who leaves leaves it without a head)."""
        principal = current_principal()

        def work(s):
            households.remove_member(s, principal, household_id, member_id)
            return _detail(s, households.household_in_scope(s, principal, household_id))

        return db.run(work)


@blp.route("/households/<int:household_id>/wallet")
class HouseholdWallet(MethodView):
    @access(*READERS)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, HouseholdWalletSchema)
    def get(self, query, household_id):
        """The household wallet: coins, lines newest first with who earned or spent each, and per
        resident what they brought in and took out (``before`` = ``next_cursor`` pages on)."""
        household = households.household_in_scope(db.session, current_principal(), household_id)
        view = household_wallet_view(db.session, household, **query)
        return {"coins": view.balance, "by_member": view.by_member, "lines": view.lines, "next_cursor": view.next_cursor}
