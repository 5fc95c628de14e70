"""The entries' (account_id, id) index carries the amount, so an account's balance can be summed
from the index alone (an index-only scan) instead of one heap page per entry.

Incremental reconciliation sums every entry of each account a day touched (and each system account's
entries since its checkpoint); a busy volunteer's history is spread over the whole year's pages.
PostgreSQL only (``INCLUDE``); SQLite keeps the plain index. At city size (~22 M entries) building
it takes about a minute, during which postings wait: run the upgrade in the nightly window.

Revision ID: 0026_entries_account_sums
Revises: 0025_helper_cap_setting
"""

from alembic import op

revision = "0026_entries_account_sums"
down_revision = "0025_helper_cap_setting"
branch_labels = None
depends_on = None


def _rebuild(include: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_ledger_entries_account_sums ON ledger_entries (account_id, id){include}")
    op.execute("DROP INDEX ix_ledger_entries_account_id_id")
    op.execute("ALTER INDEX ix_ledger_entries_account_sums RENAME TO ix_ledger_entries_account_id_id")


def upgrade() -> None:
    _rebuild(" INCLUDE (amount)")


def downgrade() -> None:
    _rebuild("")
