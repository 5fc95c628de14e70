"""What PostgreSQL plans for the checks' statements."""

from __future__ import annotations

from sqlalchemy import text


def _plan(session, statement, params) -> dict:
    """The statement's plan, with sorts made as dear as the planner allows: a plan that still sorts
    cannot get the order from an index."""
    for setting in ("enable_sort", "enable_incremental_sort", "enable_seqscan", "enable_bitmapscan", "enable_hashjoin"):
        session.execute(text(f"SET LOCAL {setting} = off"))
    return session.execute(text(f"EXPLAIN (FORMAT JSON) {statement.text}"), params).scalar()[0]["Plan"]


def _nodes(node: dict) -> list[dict]:
    return [node, *(n for child in node.get("Plans", ()) for n in _nodes(child))]


def entries_read_in_line_order(session, statement, params) -> bool:
    """The statement reads the entries from their index on transaction_id alone and sorts none of
    them by their lines (sorts of other rows, say of the result by sequence, are no matter)."""
    nodes = _nodes(_plan(session, statement, params))
    entries = [(n["Node Type"], n.get("Index Name")) for n in nodes if n.get("Relation Name") == "ledger_entries"]
    line_sorts = [n["Sort Key"] for n in nodes if "Sort" in n["Node Type"] and "account_id" in str(n["Sort Key"])]
    return not line_sorts and entries == [("Index Only Scan", "ix_ledger_entries_transaction_id")]
