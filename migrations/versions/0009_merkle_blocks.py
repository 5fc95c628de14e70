"""merkle blocks: Merkle roots over sealed chain links, so a statement line can be proven

Revision ID: 0009_merkle_blocks
Revises: 0008_personal_data
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime renders through it)
from ledger.db import append_only_ddl, drop_append_only_ddl

revision = "0009_merkle_blocks"
down_revision = "0008_personal_data"
branch_labels = None
depends_on = None

TABLES = ("ledger_merkle_blocks",)


def upgrade() -> None:
    op.create_table(
        "ledger_merkle_blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("block_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_ledger_merkle_blocks")),
        sa.UniqueConstraint("first_seq", name=op.f("uq_ledger_merkle_blocks_first_seq")),
        sa.UniqueConstraint("last_seq", name=op.f("uq_ledger_merkle_blocks_last_seq")),
    )
    for statement in append_only_ddl(op.get_bind().dialect.name, TABLES):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_ddl(op.get_bind().dialect.name, TABLES, drop_function=False):
        op.execute(statement)
    op.drop_table("ledger_merkle_blocks")
