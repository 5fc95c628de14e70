"""The entries' (account_id, id) index carries the transaction as well as the amount, so the till
entries behind every basket and refund are read from the index alone.

Full reconciliation matches each basket and refund with what its posting moved into or out of the
supermarket's till (``service.market.checks``). A till's entries are spread over the whole year's
pages; reading them from the heap cost ~2 CPU-seconds at 3.2 M entries, from this index ~0.3.
A statement page reads the same index. PostgreSQL only (``INCLUDE``); SQLite keeps the plain index.
Like 0026, building it at city size takes about a minute, during which postings wait: run the
upgrade in the nightly window.

Revision ID: 0027_entries_till_reads
Revises: 0026_entries_account_sums
"""

from alembic import op

revision = "0027_entries_till_reads"
down_revision = "0026_entries_account_sums"
branch_labels = None
depends_on = None


def _rebuild(include: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_ledger_entries_account_reads ON ledger_entries (account_id, id) INCLUDE ({include})")
    op.execute("DROP INDEX ix_ledger_entries_account_id_id")
    op.execute("ALTER INDEX ix_ledger_entries_account_reads RENAME TO ix_ledger_entries_account_id_id")


def upgrade() -> None:
    _rebuild("amount, transaction_id")


def downgrade() -> None:
    _rebuild("amount")
