"""Residents, households, balances and statements."""

from flask.views import MethodView
from marshmallow import RAISE

from .. import localtime
from ..auth.access import access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..bookkeeping import expiry
from ..bookkeeping.operations import describe_lines
from ..bookkeeping.schemas import ExpiringSchema
from ..errors import Forbidden, Invalid
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent, ledger_key_for_request
from . import lifecycle, operations, stars
from .schemas import (
    BalanceSchema,
    CardReplacedSchema,
    CardReplacementSchema,
    DeactivatedSchema,
    DeactivateSchema,
    MemberCreatedSchema,
    MemberCreateSchema,
    MemberLookupSchema,
    MemberQuerySchema,
    MemberSchema,
    MemberUpdateSchema,
    PinResetResultSchema,
    PinResetSchema,
    StarsSchema,
    StatementQuerySchema,
    StatementSchema,
)

blp = Blueprint("members", __name__, url_prefix="/api/v1", description="Residents and households")

# SPEC §2/§3: each role sees what its work needs. Cashiers have the counter look-up (masked name and
# coins) and nothing else personal; supervisors review without card codes, phones or birth dates.
MEMBER_READERS = (Role.ADMIN, Role.STATION_STAFF, Role.SUPERVISOR)
PERSONAL_READERS = (Role.ADMIN, Role.STATION_STAFF)
BRIEF_FIELDS = ("id", "community_id", "household_id", "name", "volunteer_number", "active", "created_at")


def member_view(member):
    """The member as the caller may see them: whole for the desk, administrators and the resident
    themself; without card code, phone, birth date or ID for everyone else."""
    principal = current_principal()
    if principal.role in PERSONAL_READERS or principal.member_id == member.id:
        return member
    return {name: getattr(member, name) for name in BRIEF_FIELDS}


@blp.route("/members")
class Members(MethodView):
    @access(*MEMBER_READERS)
    @blp.arguments(MemberQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, MemberSchema(many=True))
    def get(self, query):
        """Residents in id order by name, volunteer number or phone tail, in the caller's scope;
        pass the last id back as ``after`` for the next page. Supervisors get no personal fields.
        By card code or full phone: ``POST /members/lookup`` (they never travel in a URL)."""
        principal = current_principal()
        if query.get("phone_tail") and principal.role not in PERSONAL_READERS:
            raise Forbidden("only the desk and administrators search by phone")
        community_id = principal.listing_community(query.pop("community_id", None))
        found = operations.find_members(db.session, community_id=community_id, **query)
        return [member_view(member) for member in found]

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


@blp.route("/members/lookup")
class MemberLookup(MethodView):
    @access(*PERSONAL_READERS)
    @blp.arguments(MemberLookupSchema)
    @blp.response(200, MemberSchema(many=True))
    def post(self, data):
        """Find residents by card code (case, spaces and dashes ignored) or full phone, in the
        caller's community. A POST so that neither ends up in a URL, an access log or a history."""
        if bool(data.get("card_code")) == bool(data.get("phone")):
            raise Invalid("give exactly one of card_code and phone", code="one_lookup_key_required")
        community_id = current_principal().listing_community(data.pop("community_id", None))
        return operations.find_members(db.session, community_id=community_id, limit=20, **data)


def _member_in_scope(member_id: int):
    member = operations.get_member(db.session, member_id)
    current_principal().require_member(member.id, member.community_id)
    return member


@blp.route("/members/<int:member_id>")
class MemberById(MethodView):
    @access(*MEMBER_READERS, Role.RESIDENT)
    @blp.response(200, MemberSchema)
    def get(self, member_id):
        return member_view(_member_in_scope(member_id))

    @access(*PERSONAL_READERS)
    @blp.arguments(MemberUpdateSchema)
    @blp.response(200, MemberSchema)
    def patch(self, changes, member_id):
        """Correct name, phone, birth date or ID number (kept only as keyed digest and last four);
        audit-logged before → after (phone and ID number as "(changed)")."""
        principal = current_principal()
        return db.run(lambda s: lifecycle.update_member(s, principal, member_id, **changes))


@blp.route("/members/<int:member_id>/balance")
class MemberBalance(MethodView):
    @access(*MEMBER_READERS, Role.RESIDENT)
    @blp.response(200, BalanceSchema)
    def get(self, member_id):
        """Coins, time-bank minutes, lifetime volunteer minutes and star rating; O(1) in history."""
        return operations.balance_for(db.session, current_principal(), member_id)


@blp.route("/members/<int:member_id>/statement")
class MemberStatement(MethodView):
    @access(*MEMBER_READERS, Role.RESIDENT)
    @blp.arguments(StatementQuerySchema, location="query")
    @blp.response(200, StatementSchema)
    def get(self, query, member_id):
        """Newest first; pass ``next_cursor`` back as ``before`` for the next page."""
        member = _member_in_scope(member_id)
        page = operations.member_statement(db.session, member, **query)
        return {"lines": describe_lines(db.session, page.lines), "next_cursor": page.next_cursor}


@blp.route("/members/<int:member_id>/pin-reset")
class MemberPinReset(MethodView):
    @access(*PERSONAL_READERS)
    @blp.arguments(PinResetSchema)
    @blp.response(200, PinResetResultSchema)
    def post(self, data, member_id):
        """Reset a resident's PIN after checking who they are; the new PIN is in this answer only.
        The resident's signed-in phones are signed out. Audit-logged."""
        principal = current_principal()
        member, pin = db.run(lambda s: lifecycle.reset_pin(s, principal, member_id, **data))
        return {"member_id": member.id, "pin": pin}


@blp.route("/members/<int:member_id>/card-replacement")
class MemberCardReplacement(MethodView):
    @access(*PERSONAL_READERS)
    @blp.arguments(CardReplacementSchema)
    @blp.response(201, CardReplacedSchema)
    def post(self, data, member_id):
        """Report the card lost: a new card code; the old one is refused at once everywhere
        (counter, sign-in, sign-in sheets), the history stays with the resident. Audit-logged."""
        principal = current_principal()
        member, code = db.run(lambda s: lifecycle.replace_lost_card(s, principal, member_id, **data))
        return {"member_id": member.id, "card_code": code}


@blp.route("/members/<int:member_id>/deactivate")
class MemberDeactivate(MethodView):
    @access(*PERSONAL_READERS)
    @blp.arguments(DeactivateSchema)
    @blp.response(200, DeactivatedSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data, member_id):
        """Deactivate a resident who moved away or died: no sign-in, earning or spending. Their
        coins go to the household (or the community), their time-bank minutes to the community, in
        one ``member_departure`` posting shown in the answer. Audit-logged; idempotent."""
        principal = current_principal()
        key = ledger_key_for_request()
        return idempotent(
            {"member_id": member_id, **data},
            lambda s: (lifecycle.deactivate_member(s, principal, member_id, idempotency_key=key, **data), 200),
        )


@blp.route("/members/<int:member_id>/stars")
class MemberStars(MethodView):
    @access(*MEMBER_READERS, Role.RESIDENT)
    @blp.response(200, StarsSchema)
    def get(self, member_id):
        """The volunteer's star as the nightly run set it, and every change with its date and reason."""
        return stars.member_stars(db.session, _member_in_scope(member_id).id)


@blp.route("/members/<int:member_id>/expiring")
class MemberExpiring(MethodView):
    @access(*MEMBER_READERS, Role.RESIDENT)
    @blp.response(200, ExpiringSchema)
    def get(self, member_id):
        """Coins that expire within 30 days unless spent (annual clearing 年度清零), for statements."""
        return expiry.expiring_soon(db.session, _member_in_scope(member_id), localtime.today())


from . import household_api  # noqa: E402,F401  (the /households routes, on this blueprint)
