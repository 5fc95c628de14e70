"""Good-conduct indicators (积分制), awards and deductions, issuance budgets, the monthly
disclosure (积分公示) and supervisors' flags."""

from flask import Response, current_app
from flask.views import MethodView

from ..auth.access import EVERYONE, STAFF, access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..community.operations import get_community
from ..errors import ApiErrorSchema, NotFound
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent
from . import budgets, disclosure, indicators, operations, supervision
from .models import IssuanceBudget
from .schemas import (
    AwardCreateSchema,
    AwardQuerySchema,
    AwardReversalSchema,
    AwardSchema,
    BudgetCreateSchema,
    BudgetQuerySchema,
    BudgetSchema,
    DisclosureListSchema,
    DisclosureSchema,
    FlagCreateSchema,
    FlagQuerySchema,
    FlagResolveSchema,
    FlagSchema,
    IndicatorCategorySchema,
    IndicatorCreateSchema,
    IndicatorQuerySchema,
    IndicatorSchema,
    IndicatorSeedSchema,
    IndicatorUpdateSchema,
)

blp = Blueprint("conduct", __name__, url_prefix="/api/v1", description="Good conduct (积分制)")

REVIEWERS = (Role.ADMIN, Role.SUPERVISOR)


@blp.route("/indicator-categories")
class IndicatorCategories(MethodView):
    @access(*EVERYONE)
    @blp.response(200, IndicatorCategorySchema(many=True))
    def get(self):
        """The default categories: 平安建设, 环境卫生, 社会公益, 邻里关系, 家庭和睦, 孝老爱亲, 移风易俗."""
        return [{"code": c, "name": n, "name_en": e} for c, n, e in indicators.DEFAULT_CATEGORIES]


@blp.route("/indicators")
class Indicators(MethodView):
    @access(*EVERYONE)
    @blp.arguments(IndicatorQuerySchema, location="query")
    @blp.response(200, IndicatorSchema(many=True))
    def get(self, query):
        """A community's indicators (residents see their own community's)."""
        return indicators.list_indicators(db.session, current_principal(), **query)

    @access(Role.ADMIN)
    @blp.arguments(IndicatorCreateSchema)
    @blp.response(201, IndicatorSchema)
    def post(self, data):
        principal = current_principal()
        return db.run(lambda s: indicators.create_indicator(s, principal, **data))


@blp.route("/indicators/defaults")
class IndicatorDefaults(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(IndicatorSeedSchema)
    @blp.response(201, IndicatorSchema(many=True))
    def post(self, data):
        """Give a community the default example indicators (does nothing if it has indicators)."""
        principal = current_principal()
        principal.require_admin_of(data["community_id"])
        return db.run(lambda s: indicators.seed_default_indicators(s, data["community_id"]))


@blp.route("/indicators/<int:indicator_id>")
class IndicatorById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, IndicatorSchema)
    def get(self, indicator_id):
        return indicators.get_indicator(db.session, current_principal(), indicator_id)

    @access(Role.ADMIN)
    @blp.arguments(IndicatorUpdateSchema)
    @blp.response(200, IndicatorSchema)
    def patch(self, changes, indicator_id):
        """Change points, cap, names or retire it; past awards keep the points they were made with."""
        principal = current_principal()
        return db.run(lambda s: indicators.update_indicator(s, principal, indicator_id, changes))


@blp.route("/conduct-awards")
class ConductAwards(MethodView):
    @access(*EVERYONE)
    @blp.arguments(AwardQuerySchema, location="query")
    @blp.response(200, AwardSchema(many=True))
    def get(self, query):
        """Awards and deductions in scope (a resident: their own and their household's)."""
        return operations.list_awards(db.session, current_principal(), **query)

    @access(Role.ADMIN, Role.STATION_STAFF)
    @blp.arguments(AwardCreateSchema)
    @blp.response(201, AwardSchema)
    @blp.alt_response(409, schema=ApiErrorSchema, description="issuance_budget_exceeded, idempotency_conflict")
    @blp.alt_response(422, schema=ApiErrorSchema, description="monthly_cap_reached, indicator_inactive, …")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Award or deduct an indicator's points. A deduction takes at most what the wallet holds
        and records the shortfall; with a notice period the award is announced and credited later."""
        principal = current_principal()

        def work(session):
            return AwardSchema().dump(operations.create_award(session, principal, **data)), 201

        return idempotent(data, work)


@blp.route("/conduct-awards/<int:award_id>")
class ConductAwardById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, AwardSchema)
    def get(self, award_id):
        return operations.get_award(db.session, current_principal(), award_id)


@blp.route("/conduct-awards/<int:award_id>/reverse")
class ConductAwardReversal(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(AwardReversalSchema)
    @blp.response(200, AwardSchema)
    @blp.alt_response(409, schema=ApiErrorSchema, description="award_already_reversed, insufficient_balance")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data, award_id):
        """Reverse an award (reason required): a ledger reversal if it was credited."""
        principal = current_principal()

        def work(session):
            award = operations.reverse_award(session, principal, award_id, data["reason"])
            return AwardSchema().dump(award), 200

        return idempotent({"award_id": award_id, **data}, work)


@blp.route("/issuance-budgets")
class IssuanceBudgets(MethodView):
    @access(*STAFF)
    @blp.arguments(BudgetQuerySchema, location="query")
    @blp.response(200, BudgetSchema(many=True))
    def get(self, query):
        """Budgets with the bonus points used so far (积分总额控制)."""
        return budgets.list_budgets(db.session, current_principal(), query.get("community_id"))

    @access(Role.ADMIN)
    @blp.arguments(BudgetCreateSchema)
    @blp.response(201, BudgetSchema)
    def post(self, data):
        """Cap the good-conduct coins a community may issue in a period."""
        principal = current_principal()
        return db.run(lambda s: budgets.budget_view(s, budgets.create_budget(s, principal, **data)))


@blp.route("/issuance-budgets/<int:budget_id>")
class IssuanceBudgetById(MethodView):
    @access(*STAFF)
    @blp.response(200, BudgetSchema)
    def get(self, budget_id):
        budget = db.session.get(IssuanceBudget, budget_id)
        if budget is None:
            raise NotFound("budget not found")
        current_principal().require_community(budget.community_id, what="budget")
        return budgets.budget_view(db.session, budget)


def _disclosure(community_id: int, month: str) -> dict:
    community = get_community(db.session, community_id)
    current_principal().require_community(community.id, what="community")
    return disclosure.get(db.session, community.id, month)


@blp.route("/disclosures/<int:community_id>")
class Disclosures(MethodView):
    @access(*EVERYONE)
    @blp.response(200, DisclosureListSchema(many=True))
    def get(self, community_id):
        """The months published for a community, newest first."""
        community = get_community(db.session, community_id)
        current_principal().require_community(community.id, what="community")
        return disclosure.months(db.session, community.id)


@blp.route("/disclosures/<int:community_id>/<month:month>")
class DisclosureJson(MethodView):
    @access(*EVERYONE)
    @blp.response(200, DisclosureSchema)
    def get(self, community_id, month):
        """A month's disclosure (积分公示, ``YYYY-MM``); also as ``.csv`` and printable ``.html``."""
        return _disclosure(community_id, month)


@blp.route("/disclosures/<int:community_id>/<month:month>.csv")
class DisclosureCsv(MethodView):
    @access(*EVERYONE)
    @blp.response(200, content_type="text/csv", description="The disclosure as CSV (UTF-8 with BOM)")
    def get(self, community_id, month):
        body = _disclosure(community_id, month)
        return Response(
            disclosure.as_csv(body),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="disclosure-{community_id}-{month}.csv"'},
        )


@blp.route("/disclosures/<int:community_id>/<month:month>.html")
class DisclosureSheet(MethodView):
    @access(*EVERYONE)
    @blp.response(200, content_type="text/html", description="A printable sheet for the notice board")
    def get(self, community_id, month):
        body = _disclosure(community_id, month)
        html = disclosure.as_html(body, body["generated_at"], current_app.config["TIMEZONE"])
        return Response(html, mimetype="text/html")


@blp.route("/flags")
class Flags(MethodView):
    @access(*REVIEWERS)
    @blp.arguments(FlagQuerySchema, location="query")
    @blp.response(200, FlagSchema(many=True))
    def get(self, query):
        """Supervisors' dispute flags of awards and how they were resolved."""
        return supervision.list_flags(db.session, current_principal(), **query)

    @access(Role.SUPERVISOR)
    @blp.arguments(FlagCreateSchema)
    @blp.response(201, FlagSchema)
    def post(self, data):
        """Flag an award or a service record as disputed, with a reason (a supervisor of its community)."""
        principal = current_principal()
        if "service_record_id" in data:
            return db.run(lambda s: supervision.flag_service_record(s, principal, **data))
        return db.run(lambda s: supervision.flag_award(s, principal, **data))


@blp.route("/flags/<int:flag_id>/resolve")
class FlagResolution(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(FlagResolveSchema)
    @blp.response(200, FlagSchema)
    def post(self, data, flag_id):
        """Resolve a flag: ``keep`` the award or ``reverse`` it (an administrator; kept on record)."""
        principal = current_principal()
        return db.run(lambda s: supervision.resolve_flag(s, principal, flag_id, **data))
