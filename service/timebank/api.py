"""Service providers and services, service redemptions and hour transfers (time bank)."""

from flask.views import MethodView

from ..auth.access import EVERYONE, access, current_principal
from ..auth.models import Role
from ..blueprint import Blueprint
from ..errors import ApiErrorSchema
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent
from . import operations
from .schemas import (
    ProviderCreateSchema,
    ProviderQuerySchema,
    ProviderSchema,
    ProviderUpdateSchema,
    RedemptionReversalSchema,
    ServiceRedemptionCreateSchema,
    ServiceRedemptionQuerySchema,
    ServiceRedemptionSchema,
    TimebankServiceCreateSchema,
    TimebankServiceQuerySchema,
    TimebankServiceSchema,
    TimebankServiceUpdateSchema,
    TransferCreateSchema,
    TransferQuerySchema,
    TransferSchema,
)

blp = Blueprint("timebank", __name__, url_prefix="/api/v1", description="Time bank: services, spending, transfers")


@blp.route("/service-providers")
class ServiceProviders(MethodView):
    @access(*EVERYONE)
    @blp.arguments(ProviderQuerySchema, location="query")
    @blp.response(200, ProviderSchema(many=True))
    def get(self, query):
        principal = current_principal()
        return [
            operations.provider_view(db.session, p)
            for p in operations.list_providers(db.session, principal, query.get("community_id"))
        ]

    @access(Role.ADMIN)
    @blp.arguments(ProviderCreateSchema)
    @blp.response(201, ProviderSchema)
    def post(self, data):
        """Add a provider (with its HOUR account, which receives the hours spent on its services)."""
        principal = current_principal()
        return db.run(lambda s: operations.provider_view(s, operations.create_provider(s, principal, **data)))


@blp.route("/service-providers/<int:provider_id>")
class ServiceProviderById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, ProviderSchema)
    def get(self, provider_id):
        return operations.provider_view(db.session, operations.get_provider(db.session, current_principal(), provider_id))

    @access(Role.ADMIN)
    @blp.arguments(ProviderUpdateSchema)
    @blp.response(200, ProviderSchema)
    def patch(self, changes, provider_id):
        principal = current_principal()
        return db.run(
            lambda s: operations.provider_view(s, operations.update_provider(s, principal, provider_id, changes))
        )


@blp.route("/services")
class Services(MethodView):
    @access(*EVERYONE)
    @blp.arguments(TimebankServiceQuerySchema, location="query")
    @blp.response(200, TimebankServiceSchema(many=True))
    def get(self, query):
        """Services offered for time-bank hours in the caller's community."""
        return operations.list_services(db.session, current_principal(), **query)

    @access(Role.ADMIN)
    @blp.arguments(TimebankServiceCreateSchema)
    @blp.response(201, TimebankServiceSchema)
    def post(self, data):
        principal = current_principal()
        return db.run(lambda s: operations.create_service(s, principal, **data))


@blp.route("/services/<int:service_id>")
class ServiceById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, TimebankServiceSchema)
    def get(self, service_id):
        return operations.get_service(db.session, current_principal(), service_id)

    @access(Role.ADMIN)
    @blp.arguments(TimebankServiceUpdateSchema)
    @blp.response(200, TimebankServiceSchema)
    def patch(self, changes, service_id):
        """Change price or retire a service; past redemptions keep the price paid."""
        principal = current_principal()
        return db.run(lambda s: operations.update_service(s, principal, service_id, changes))


@blp.route("/service-redemptions")
class ServiceRedemptions(MethodView):
    @access(*EVERYONE)
    @blp.arguments(ServiceRedemptionQuerySchema, location="query")
    @blp.response(200, ServiceRedemptionSchema(many=True))
    def get(self, query):
        return operations.list_redemptions(db.session, current_principal(), **query)

    @access(Role.ADMIN, Role.STATION_STAFF)
    @blp.arguments(ServiceRedemptionCreateSchema)
    @blp.response(201, ServiceRedemptionSchema)
    @blp.alt_response(409, schema=ApiErrorSchema, description="insufficient_balance")
    @blp.alt_response(422, schema=ApiErrorSchema, description="below_min_spend_age, service_inactive, …")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Spend a member's time-bank hours on a service; lifetime hours are not lowered."""
        principal = current_principal()

        def work(session):
            return ServiceRedemptionSchema().dump(operations.redeem_service(session, principal, **data)), 201

        return idempotent(data, work)


@blp.route("/service-redemptions/<int:redemption_id>")
class ServiceRedemptionById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, ServiceRedemptionSchema)
    def get(self, redemption_id):
        return operations.get_redemption(db.session, current_principal(), redemption_id)


@blp.route("/service-redemptions/<int:redemption_id>/reverse")
class ServiceRedemptionReversal(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(RedemptionReversalSchema)
    @blp.response(200, ServiceRedemptionSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data, redemption_id):
        """Give the hours back (reason required), e.g. when the service did not take place."""
        principal = current_principal()

        def work(session):
            redemption = operations.reverse_redemption(session, principal, redemption_id, data["reason"])
            return ServiceRedemptionSchema().dump(redemption), 200

        return idempotent({"redemption_id": redemption_id, **data}, work)


@blp.route("/hour-transfers")
class HourTransfers(MethodView):
    @access(*EVERYONE)
    @blp.arguments(TransferQuerySchema, location="query")
    @blp.response(200, TransferSchema(many=True))
    def get(self, query):
        return operations.list_transfers(db.session, current_principal(), **query)

    @access(Role.ADMIN, Role.STATION_STAFF, Role.RESIDENT)
    @blp.arguments(TransferCreateSchema)
    @blp.response(201, TransferSchema)
    @blp.alt_response(409, schema=ApiErrorSchema, description="insufficient_balance")
    @blp.alt_response(422, schema=ApiErrorSchema, description="hour_storage_cap_exceeded, invalid_relation, …")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Give time-bank hours to a family member (the relation is recorded)."""
        principal = current_principal()

        def work(session):
            return TransferSchema().dump(operations.transfer_hours(session, principal, **data)), 201

        return idempotent(data, work)
