"""Supermarket tills become untracked system accounts (entries plus checkpoints, like issuance):
every basket of a supermarket paid into one stored balance, one row lock all baskets queued on.

Revision ID: 0020_untracked_tills
Revises: 0019_chain_in_sql
"""

from alembic import op

revision = "0020_untracked_tills"
down_revision = "0019_chain_in_sql"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE ledger_accounts SET track_balance = false, balance = 0, version = 0 "
        "WHERE type = 'supermarket_till'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE ledger_accounts SET track_balance = true, "
        "balance = (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e WHERE e.account_id = ledger_accounts.id), "
        "version = (SELECT COUNT(*) FROM ledger_entries e WHERE e.account_id = ledger_accounts.id) "
        "WHERE type = 'supermarket_till'"
    )
