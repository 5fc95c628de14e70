from marshmallow import Schema, fields, validate

from ..schemas import PageQuerySchema, query_id


class AuditQuerySchema(PageQuerySchema):
    community_id = query_id()
    action = fields.String(validate=validate.Length(max=64))
    target_type = fields.String(validate=validate.Length(max=32))
    target_id = query_id()


class AuditEventSchema(Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    actor_role = fields.String(metadata={"description": "a role, or system"})
    actor_staff_id = fields.Integer(allow_none=True)
    actor_member_id = fields.Integer(allow_none=True)
    actor_name = fields.String(allow_none=True)
    action = fields.String()
    target_type = fields.String()
    target_id = fields.Integer(allow_none=True)
    community_id = fields.Integer(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class AuditPageSchema(Schema):
    events = fields.List(fields.Nested(AuditEventSchema))
    next_cursor = fields.Integer(allow_none=True, metadata={"description": "pass back as before"})
