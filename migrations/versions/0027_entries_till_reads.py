"""The entries' (account_id, id) index carries the transaction and the unit as well as the amount,
so full reconciliation reads what it needs of the entries by account from the index alone.

Its account pass (``ledger.verify_sql``) groups every entry by account: a parallel scan of the table
and a hash per worker cost ~1.8 CPU-seconds at 3.2 M entries, the index in its order ~0.7. The
market's check matches each basket and refund with what its posting moved into or out of the
supermarket's till (``service.market.checks``); a till's entries are spread over the whole year's
pages, and reading them from the heap cost ~2 CPU-seconds, from this index ~0.3. PostgreSQL only (``INCLUDE``); SQLite keeps the plain index.
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
    _rebuild("amount, transaction_id, unit")


def downgrade() -> None:
    _rebuild("amount")
