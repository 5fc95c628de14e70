"""PostgreSQL recomputes the hash chain: ledger_canonical_json(jsonb), the canonical JSON of a
transaction's details exactly as ledger.chain writes it (see ledger/chain_sql.py).

Revision ID: 0019_chain_in_sql
Revises: 0018_flag_service_records
"""

from alembic import op

from ledger.chain_sql import CANONICAL_JSON_FUNCTION, DROP_CANONICAL_JSON_FUNCTION

revision = "0019_chain_in_sql"
down_revision = "0018_flag_service_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CANONICAL_JSON_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_CANONICAL_JSON_FUNCTION)
