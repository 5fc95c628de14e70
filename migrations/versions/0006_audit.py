"""audit: the append-only audit log of administrative changes

Revision ID: 0006_audit
Revises: 0005_one_head
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime and BigId render through it)
from ledger.db import append_only_ddl, drop_append_only_ddl

revision = "0006_audit"
down_revision = "0005_one_head"
branch_labels = None
depends_on = None

TABLES = ("audit_events",)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("actor_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column("community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["actor_member_id"], ["members.id"], name=op.f("fk_audit_events_actor_member_id_members")),
        sa.ForeignKeyConstraint(["actor_staff_id"], ["staff.id"], name=op.f("fk_audit_events_actor_staff_id_staff")),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_audit_events_community_id_communities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_community_id_id", ["community_id", "id"], unique=False)
    for statement in append_only_ddl(op.get_bind().dialect.name, TABLES):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_ddl(op.get_bind().dialect.name, TABLES, drop_function=False):
        op.execute(statement)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_community_id_id")
    op.drop_table("audit_events")
