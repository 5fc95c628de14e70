"""The domain records behind a generated city history (``service.demo_city``), written in bulk beside
its ledger rows: what the service's own operations write for each posting, with the same columns,
statuses and links.

- volunteer hours: an approved service record (``volunteering.operations.approve_service_record``:
  logged by the station's desk, approved by an administrator), keyed ``service-record:{id}:approve``;
- a conduct award: a credited award (``conduct.operations.create_award`` with no notice period),
  keyed ``conduct-award:{id}:credit``; its reversal marks it reversed (``reverse_award``);
- a basket: a redemption with its lines and stock movements (``market.counter.redeem``), restocked
  by a stock receipt when a shelf runs low (``market.catalogue.receive_stock``); a whole refund is a
  refund with its lines and movements back, the basket's lines refunded (``market.refunds``).

A ``Records`` collects one chunk's rows; ``take`` hands them over in the form ``write`` takes
(COPY text on PostgreSQL, prepared in the loader's thread; rows for executemany on SQLite), and
``ledger.bookload`` calls ``write`` in the chunk's unit of work. Ids are the generator's own, drawn
past the tables' highest; ``finish`` moves the sequences past them and stores the products' stock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from ledger import bookload, copytext

# The columns each table is written with (the others keep their defaults: NULL, or 0 for shortfall).
COLUMNS = {
    "service_records": (
        "id", "community_id", "station_id", "volunteer_id", "activity_name", "started_at", "ended_at", "minutes",
        "service_date", "evidence", "status", "late_entry", "needs_admin", "recorded_by", "verified_by",
        "verified_at", "admin_approved_by", "approved_at", "coins", "coins_per_hour", "transaction_id",
        "created_at"),
    "conduct_awards": (
        "id", "community_id", "indicator_id", "indicator_code", "indicator_name", "category", "points", "member_id",
        "note", "evidence", "awarded_by", "award_date", "status", "credit_due_on", "credited_at", "amount_posted",
        "shortfall", "transaction_id", "created_at"),
    "stock_receipts": ("id", "supermarket_id", "community_id", "kind", "source", "note", "staff_id", "created_at"),
    "redemptions": (
        "id", "supermarket_id", "community_id", "member_id", "paid_from", "wallet_account_id", "transaction_id",
        "staff_id", "total", "balance_after", "note", "created_at"),
    "redemption_lines": (
        "id", "redemption_id", "product_id", "sku", "name", "unit", "quantity", "unit_price", "amount",
        "refunded_quantity"),
    "redemption_refunds": (
        "id", "redemption_id", "supermarket_id", "community_id", "transaction_id", "staff_id", "reason", "whole",
        "total", "balance_after", "created_at"),
    "redemption_refund_lines": (
        "id", "refund_id", "redemption_line_id", "product_id", "sku", "name", "quantity", "unit_price", "amount"),
    "stock_movements": (
        "id", "product_id", "supermarket_id", "reason", "quantity", "stock_after", "stock_receipt_id",
        "redemption_id", "refund_id", "created_at"),
}
TABLES = tuple(COLUMNS)  # parents before the rows that name them

_REVERSE_AWARDS_PG = """
UPDATE conduct_awards a SET status = 'reversed', reversed_by = u.by, reversed_at = u.at,
  reversal_reason = u.reason, reversal_transaction_id = u.tx
FROM unnest(CAST(%s AS bigint[]), CAST(%s AS bigint[]), CAST(%s AS timestamptz[]), CAST(%s AS text[]),
            CAST(%s AS bigint[])) AS u(id, by, at, reason, tx)
WHERE a.id = u.id
"""
_REVERSE_AWARDS_SQLITE = (
    "UPDATE conduct_awards SET status = 'reversed', reversed_by = ?, reversed_at = ?, reversal_reason = ?, "
    "reversal_transaction_id = ? WHERE id = ?")
# A whole refund refunds every line in full.
_REFUND_LINES_PG = ("UPDATE redemption_lines SET refunded_quantity = quantity "
                    "WHERE redemption_id = ANY(CAST(%s AS bigint[]))")
_REFUND_LINES_SQLITE = "UPDATE redemption_lines SET refunded_quantity = quantity WHERE redemption_id = ?"


def first_ids(session: Session) -> dict[str, int]:
    """The first id each table's generated rows may take: past its highest row and (PostgreSQL)
    past what its sequence has handed out."""
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    ids = {}
    for table in TABLES:
        highest = connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
        if postgresql:
            drawn = connection.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")).scalar()
            highest = max(highest, drawn)
        ids[table] = int(highest) + 1
    return ids


@dataclass
class Records:
    """The rows of the chunk being generated, and what carries over between chunks: the next id of
    each table and the stock of every product."""

    next_ids: dict[str, int]
    stock: dict[int, int]  # product -> count on the shelf
    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in TABLES})
    reversed_awards: list[tuple] = field(default_factory=list)  # (award, by, at, reason, reversal transaction)
    refunded: list[int] = field(default_factory=list)  # redemptions refunded whole
    moved: set[int] = field(default_factory=set)  # products whose stock moved since ``finish``
    count: int = 0  # rows written (or updated) so far

    def new_id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def move_stock(self, product_id: int, supermarket_id: int, reason: str, quantity: int, at: dt.datetime,
                   *, receipt: int | None = None, redemption: int | None = None, refund: int | None = None) -> None:
        """A stock movement (``market.stock``): the shelf count and its append-only row."""
        after = self.stock[product_id] + quantity
        if after < 0:
            raise ValueError(f"product {product_id} would go below zero")
        self.stock[product_id] = after
        self.moved.add(product_id)
        self.rows["stock_movements"].append((self.new_id("stock_movements"), product_id, supermarket_id, reason,
                                             quantity, after, receipt, redemption, refund, at))

    def take(self, postgresql: bool) -> tuple:
        """The chunk's rows in the form ``write`` takes, and a fresh start for the next chunk."""
        rows, reversed_awards, refunded = self.rows, self.reversed_awards, self.refunded
        self.rows, self.reversed_awards, self.refunded = {t: [] for t in TABLES}, [], []
        self.count += sum(map(len, rows.values())) + len(reversed_awards) + len(refunded)
        if postgresql:
            rows = {table: _copy_text(table_rows) for table, table_rows in rows.items() if table_rows}
        return rows, reversed_awards, refunded


# A value as a field of COPY's text format, by its type (a lookup, not a chain of isinstance).
_COPY_FIELD = {
    type(None): lambda _v: copytext.NULL,
    bool: lambda v: "t" if v else "f",
    int: str,
    str: copytext.field,
    dt.date: dt.date.isoformat,
    dt.datetime: dt.datetime.isoformat,  # always aware, UTC
}


def _copy_text(rows: list[tuple]) -> bytes:
    field_of = _COPY_FIELD
    return "".join("\t".join([field_of[type(v)](v) for v in row]) + "\n" for row in rows).encode()


def write(connection: Connection, taken: tuple) -> None:
    """One chunk's records (``Records.take``), in the chunk's unit of work (``bookload``'s companion)."""
    rows, reversed_awards, refunded = taken
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:
            for table in TABLES:
                if table in rows:
                    with cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                        copy.write(rows[table])
            if reversed_awards:
                cursor.execute(_REVERSE_AWARDS_PG, [list(column) for column in zip(*reversed_awards, strict=True)])
            if refunded:
                cursor.execute(_REFUND_LINES_PG, (refunded,))
        return
    for table in TABLES:
        if rows[table]:
            bookload.copy_rows(connection, table, COLUMNS[table], rows[table])
    if reversed_awards:
        connection.exec_driver_sql(_REVERSE_AWARDS_SQLITE, [
            (by, bookload.sqlite_value(at), reason, tx, award) for award, by, at, reason, tx in reversed_awards])
    if refunded:
        connection.exec_driver_sql(_REFUND_LINES_SQLITE, [(r,) for r in refunded])


def finish(session: Session, records: Records) -> None:
    """The stock the products reached and (PostgreSQL) the tables' sequences past the written ids."""
    connection = session.connection()
    stock = [(records.stock[p], p) for p in sorted(records.moved)]
    records.moved.clear()
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql("UPDATE products SET stock = ? WHERE id = ?", stock)
        return
    with connection.connection.driver_connection.cursor() as cursor:
        if stock:
            counts, ids = (list(column) for column in zip(*stock, strict=True))
            cursor.execute("UPDATE products p SET stock = s.stock FROM unnest(CAST(%s AS bigint[]), "
                           "CAST(%s AS bigint[])) AS s(stock, id) WHERE p.id = s.id", (counts, ids))
        for table, next_id in records.next_ids.items():
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", (table, next_id))
