"""helpers: grants for helpers acting for an elderly resident (代办) and what they did

Revision ID: 0012_helpers
Revises: 0011_office_settings
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime and BigId render through it)

revision = "0012_helpers"
down_revision = "0011_office_settings"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "helper_grants",
        sa.Column("id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("elder_member_id", ID, nullable=False),
        sa.Column("helper_member_id", ID, nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("monthly_coin_cap", sa.Integer(), nullable=False),
        sa.Column("granted_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by_staff_id", ID, nullable=True),
        sa.Column("granted_by_member_id", ID, nullable=True),
        sa.Column("revoked_at", ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_staff_id", ID, nullable=True),
        sa.Column("revoked_by_member_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], name=op.f("fk_helper_grants_community_id_communities")),
        sa.ForeignKeyConstraint(["elder_member_id"], ["members.id"], name=op.f("fk_helper_grants_elder_member_id_members")),
        sa.ForeignKeyConstraint(["helper_member_id"], ["members.id"], name=op.f("fk_helper_grants_helper_member_id_members")),
        sa.ForeignKeyConstraint(["granted_by_staff_id"], ["staff.id"], name=op.f("fk_helper_grants_granted_by_staff_id_staff")),
        sa.ForeignKeyConstraint(["granted_by_member_id"], ["members.id"], name=op.f("fk_helper_grants_granted_by_member_id_members")),
        sa.ForeignKeyConstraint(["revoked_by_staff_id"], ["staff.id"], name=op.f("fk_helper_grants_revoked_by_staff_id_staff")),
        sa.ForeignKeyConstraint(["revoked_by_member_id"], ["members.id"], name=op.f("fk_helper_grants_revoked_by_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_helper_grants")),
    )
    with op.batch_alter_table("helper_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_helper_grants_elder_member_id"), ["elder_member_id"], unique=False)
        batch_op.create_index(
            "ix_helper_grants_helper_member_id_elder_member_id", ["helper_member_id", "elder_member_id"], unique=False
        )
    op.create_table(
        "helper_actions",
        sa.Column("id", ID, nullable=False),
        sa.Column("grant_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", ID, nullable=True),
        sa.Column("coins", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["helper_grants.id"], name=op.f("fk_helper_actions_grant_id_helper_grants")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["ledger_transactions.id"], name=op.f("fk_helper_actions_transaction_id_ledger_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_helper_actions")),
    )
    with op.batch_alter_table("helper_actions", schema=None) as batch_op:
        batch_op.create_index("ix_helper_actions_grant_id_created_at", ["grant_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("helper_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_helper_actions_grant_id_created_at")
    op.drop_table("helper_actions")
    with op.batch_alter_table("helper_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_helper_grants_helper_member_id_elder_member_id")
        batch_op.drop_index(batch_op.f("ix_helper_grants_elder_member_id"))
    op.drop_table("helper_grants")
