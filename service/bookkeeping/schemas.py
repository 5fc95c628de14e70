from marshmallow import Schema, fields, validate

from ..schemas import ref_id, signed_coins, text


class AdjustmentSchema(Schema):
    member_id = ref_id()
    household_id = ref_id()
    unit = fields.String(required=True, validate=validate.OneOf(["COIN", "HOUR"]))
    amount = signed_coins(required=True, metadata={"description": "Positive credits, negative debits"})
    reason = text(500)


class ReversalSchema(Schema):
    reason = text(500)


class EntrySchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    unit = fields.String()
    amount = fields.Integer()
    balance_after = fields.Integer(allow_none=True)


class TransactionSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    community_id = fields.Integer()
    memo = fields.String()
    actor_id = fields.Integer(allow_none=True)
    location = fields.String(allow_none=True)
    details = fields.Dict()
    reverses_id = fields.Integer(allow_none=True)
    related_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    content_hash = fields.String()
    entries = fields.List(fields.Nested(EntrySchema))


class ChainHeadSchema(Schema):
    seq = fields.Integer(metadata={"description": "How many transactions the chain has sealed"})
    chain_hash = fields.String(metadata={"description": "SHA-256 over every sealed transaction, in order"})
    transaction_id = fields.Integer(allow_none=True)


class ExpiringSchema(Schema):
    member_id = fields.Integer()
    expires_on = fields.Date(allow_none=True, metadata={"description": "end of this local date; null = no expiry"})
    coins = fields.Integer(metadata={"description": "coins that expire then unless spent first"})
    household_coins = fields.Integer(allow_none=True)
    within_days = fields.Integer()


class MerkleHeadSchema(Schema):
    block = fields.Integer()
    hash = fields.String()
    last_seq = fields.Integer()
    created_at = fields.DateTime(allow_none=True)


class StatementProofSchema(Schema):
    """A ``greencoin-statement/1`` document (docs/statement-proofs.md); passed through as built."""

    format = fields.String()
    member = fields.Dict()
    accounts = fields.List(fields.Dict())
    head = fields.Dict(allow_none=True)
    blocks = fields.List(fields.Dict())
    lines = fields.List(fields.Dict())
