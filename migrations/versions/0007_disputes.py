"""disputes: residents' disputes of statement lines and each community's deadlines

Revision ID: 0007_disputes
Revises: 0006_audit
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime and BigId render through it)

revision = "0007_disputes"
down_revision = "0006_audit"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dispute_policies",
        sa.Column("community_id", ID, nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("answer_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_dispute_policies_community_id_communities")),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_dispute_policies")),
    )
    op.create_table(
        "disputes",
        sa.Column("id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("transaction_id", ID, nullable=False),
        sa.Column("transaction_kind", sa.String(length=48), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by_staff_id", ID, nullable=True),
        sa.Column("answer_due_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", ID, nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("correction_transaction_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_disputes_community_id_communities")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_disputes_member_id_members")),
        sa.ForeignKeyConstraint(["opened_by_staff_id"], ["staff.id"], name=op.f("fk_disputes_opened_by_staff_id_staff")),
        sa.ForeignKeyConstraint(["resolved_by"], ["staff.id"], name=op.f("fk_disputes_resolved_by_staff")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["ledger_transactions.id"], name=op.f("fk_disputes_transaction_id_ledger_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("member_id", "transaction_id", name=op.f("uq_disputes_member_id_transaction_id")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index("ix_disputes_community_id_status", ["community_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputes_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_member_id"))
        batch_op.drop_index("ix_disputes_community_id_status")
    op.drop_table("disputes")
    op.drop_table("dispute_policies")
