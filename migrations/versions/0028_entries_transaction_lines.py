"""The entries' transaction_id index carries each transaction's lines in their canonical order
(account, unit, amount), so reconciliation reads them from the index alone, already sorted.

Full reconciliation's transaction pass (``ledger.verify_sql``) and the chain check in chunks
(``ledger.chain_sql``) build each transaction's canonical "lines" from its entries in that order.
With the index on ``transaction_id`` alone they read every entry from the heap and sorted each
transaction's entries (an incremental sort): 0.72–0.90 s of the 5.6 s transaction pass at 3.2 M
entries, 0.32–0.38 s from this index. It is bigger (160 MB instead of 50 MB per 3.4 M entries, ~1 GB
at city size), and serves every look-up by transaction as the old one did. Units sort by the
column's collation (the fixed unit names are ASCII capitals, the same in every collation; were one
ever to sort otherwise, the passes would find the text different and recheck it in Python, never
pass it). Building it took 1.9 s at 3.4 M entries here (~15 s at city size), during which postings
wait: run the upgrade in the nightly window.

Revision ID: 0028_entries_transaction_lines
Revises: 0027_entries_till_reads
"""

from alembic import op

revision = "0028_entries_transaction_lines"
down_revision = "0027_entries_till_reads"
branch_labels = None
depends_on = None

_NAME = "ix_ledger_entries_transaction_id"


def _rebuild(columns: list[str]) -> None:
    op.drop_index(_NAME, table_name="ledger_entries")
    op.create_index(_NAME, "ledger_entries", columns)


def upgrade() -> None:
    _rebuild(["transaction_id", "account_id", "unit", "amount"])


def downgrade() -> None:
    _rebuild(["transaction_id"])
