"""Transactions and administrators' adjustments."""

from flask.views import MethodView

import ledger

from ..auth.access import EVERYONE, access, current_principal, public
from ..auth.models import Role
from ..blueprint import Blueprint
from ..extensions import db
from ..idempotency import IDEMPOTENCY_PARAM, idempotent, ledger_key_for_request
from ..members.operations import get_member
from ..schemas import ErrorSchema
from . import operations, proofs
from .schemas import (
    AdjustmentSchema,
    ChainHeadSchema,
    MerkleHeadSchema,
    ReversalSchema,
    StatementProofSchema,
    TransactionSchema,
)

blp = Blueprint("bookkeeping", __name__, url_prefix="/api/v1", description="Ledger transactions")

def _transaction_body(session, transaction_id: int) -> dict:
    return TransactionSchema().dump(operations.get_transaction(session, current_principal(), transaction_id))


@blp.route("/adjustments")
class Adjustments(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(AdjustmentSchema)
    @blp.response(201, TransactionSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="insufficient_balance, idempotency_conflict")
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data):
        """Credit or debit a member or household wallet against community issuance (reason required)."""
        principal = current_principal()
        key = ledger_key_for_request()

        def work(session):
            posted = operations.adjust(session, principal, idempotency_key=key, **data)
            return _transaction_body(session, posted.transaction_id), 201

        return idempotent(data, work)


@blp.route("/transactions/<int:transaction_id>")
class TransactionById(MethodView):
    @access(*EVERYONE)
    @blp.response(200, TransactionSchema)
    def get(self, transaction_id):
        return operations.get_transaction(db.session, current_principal(), transaction_id)


@blp.route("/transactions/<int:transaction_id>/reverse")
class TransactionReversal(MethodView):
    @access(Role.ADMIN)
    @blp.arguments(ReversalSchema)
    @blp.response(201, TransactionSchema)
    @blp.doc(parameters=[IDEMPOTENCY_PARAM])
    def post(self, data, transaction_id):
        """Reverse an adjustment or opening balance, once (domain postings have their own reversal)."""
        principal = current_principal()
        key = ledger_key_for_request()

        def work(session):
            posted = operations.reverse_adjustment(
                session, principal, transaction_id=transaction_id, reason=data["reason"], idempotency_key=key
            )
            return _transaction_body(session, posted.transaction_id), 201

        return idempotent({"transaction_id": transaction_id, **data}, work)


@blp.route("/ledger/chain-head")
class ChainHead(MethodView):
    @public
    @blp.response(200, ChainHeadSchema)
    def get(self):
        """The sealed head of the hash chain, public so anyone can record it: a later rewrite of any
        sealed transaction no longer leads to this hash."""
        return ledger.chain_head(db.session)


@blp.route("/ledger/merkle-head")
class MerkleHead(MethodView):
    @public
    @blp.response(200, MerkleHeadSchema)
    def get(self):
        """The newest Merkle block's hash: the head that statement proofs lead to (public)."""
        return proofs.merkle_head(db.session)


@blp.route("/members/<int:member_id>/statement-proof")
class StatementProof(MethodView):
    @access(*EVERYONE)
    @blp.response(200, StatementProofSchema)
    def get(self, member_id):
        """The member's statement with a Merkle proof per line, verifiable offline against the
        published head (format: docs/statement-proofs.md)."""
        member = get_member(db.session, member_id)
        current_principal().require_member(member.id, member.community_id)
        return proofs.statement_document(db.session, member)
