"""The hash chain recomputed inside PostgreSQL, in keyset chunks of chain links.

Recomputing every content hash in Python was ~95 % of a full reconciliation (46–49 s per million
entries). PostgreSQL builds the same canonical text (``chain.canonical_content``: JSON with sorted
keys, compact separators, non-ASCII kept, the same string escapes) and hashes it with ``sha256()``;
only the links whose recomputed hashes disagree come back to Python, which recomputes them with the
canonical code itself before reporting anything. So a detail the SQL form cannot reproduce exactly
(a float written differently, say) costs a Python recomputation, never a false alarm, and memory
stays flat: one chunk of links at a time, and only its mismatches leave the database.

Each link is checked on its own against the link before it (``lag`` over stored values), so the
chain check is set-based: sequence, stored previous hash, recomputed content hash and link hash.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

# Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) of a JSON value.
# to_json()/jsonb text escape strings exactly as json.dumps does with ensure_ascii=False; keys sort
# by code point (COLLATE "C" on UTF-8). Scalars print as jsonb prints them; nested values recurse.
CANONICAL_JSON_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_canonical_json(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE jsonb_typeof(v)
  WHEN 'object' THEN '{' || coalesce((
    SELECT string_agg(to_json(k)::text || ':' || CASE WHEN jsonb_typeof(x) IN ('object', 'array')
      THEN ledger_canonical_json(x) ELSE x::text END, ',' ORDER BY k COLLATE "C")
    FROM jsonb_each(v) AS e(k, x)), '') || '}'
  WHEN 'array' THEN '[' || coalesce((
    SELECT string_agg(CASE WHEN jsonb_typeof(x) IN ('object', 'array')
      THEN ledger_canonical_json(x) ELSE x::text END, ',' ORDER BY n)
    FROM jsonb_array_elements(v) WITH ORDINALITY AS a(x, n)), '') || ']'
  ELSE v::text END
$$
"""
DROP_CANONICAL_JSON_FUNCTION = "DROP FUNCTION IF EXISTS ledger_canonical_json(jsonb)"

# chain.canonical_content, column by column, keys in sorted order; {details} is the details' text.
_CANONICAL = """
'{{"actor":' || coalesce(t.actor_id::text, 'null')
|| ',"at":"' || to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"'
|| ',"community":' || t.community_id::text
|| ',"details":' || {details}
|| ',"key":' || to_json(t.idempotency_key)::text
|| ',"kind":' || to_json(t.kind)::text
|| ',"lines":[' || coalesce(x.lines, '') || ']'
|| ',"location":' || coalesce(to_json(t.location)::text, 'null')
|| ',"memo":' || to_json(t.memo)::text
|| ',"related":' || coalesce(t.related_id::text, 'null')
|| ',"reverses":' || coalesce(t.reverses_id::text, 'null') || '}}'
"""
# Details are stored as their canonical text (ledger.db.make_engine's JSON serializer), so the
# stored text is used as is; rows written before that (or by other means) are re-serialised.
_FAST = _CANONICAL.format(details="coalesce(t.details::text, '{}')")
_SLOW = _CANONICAL.format(details="coalesce(ledger_canonical_json(t.details::jsonb), '{}')")
# One entry of the canonical "lines" (``e``: a row with account_id, unit and amount), and the
# order chain.canonical_content sorts them in ([account, unit, amount], units by code point).
LINE = "'[' || e.account_id::text || ',' || to_json(e.unit)::text || ',' || e.amount::text || ']'"
LINE_ORDER = 'e.account_id, e.unit COLLATE "C", e.amount'
# The order the entries' index on transaction_id keeps each transaction's lines in (migration 0028),
# read without a sort: units by the column's collation, the same as by code point for the fixed
# unit names (ASCII capitals). Checks only: a text built in another order differs and is rechecked.
INDEX_LINE_ORDER = "e.account_id, e.unit, e.amount"

# ledger.posting.request_hash's lines: [account, amount] sorted as Python sorts (account, amount) pairs.
REQUEST_LINE = "'[' || e.account_id::text || ',' || e.amount::text || ']'"
REQUEST_LINE_ORDER = "e.account_id, e.amount"


def hex_sha256(text_expr: str, *, checking: bool = False) -> str:
    """SQL for the hex SHA-256 of a text's UTF-8 bytes. ``checking``: for the checks, which run only
    on a UTF-8 database (``available``), where a text's bytes already are its UTF-8 and textsend()
    hands them over without convert_to's validation pass (~2 % of a full reconciliation). What is
    written (imports, bulk loads) always converts."""
    as_bytes = f"textsend({text_expr})" if checking else f"convert_to({text_expr}, 'UTF8')"
    return f"encode(sha256({as_bytes}), 'hex')"


# ledger.posting.request_hash (the canonical JSON of a posting's payload, keys sorted) over ``t``
# (details as their canonical text) and ``x.request_lines`` (REQUEST_LINE joined by commas in
# REQUEST_LINE_ORDER); an import's new postings get it from the database, as their content hash.
REQUEST_HASH = hex_sha256("""
'{"actor_id":' || coalesce(t.actor_id::text, 'null')
|| ',"community_id":' || t.community_id::text
|| ',"details":' || t.details::text
|| ',"kind":' || to_json(t.kind)::text
|| ',"lines":[' || coalesce(x.request_lines, '') || ']'
|| ',"location":' || coalesce(to_json(t.location)::text, 'null')
|| ',"memo":' || coalesce(to_json(t.memo)::text, 'null')
|| ',"related_id":' || coalesce(t.related_id::text, 'null')
|| ',"reverses_id":' || coalesce(t.reverses_id::text, 'null') || '}'
""")


# chain.content_hash over ``t`` (a row with the transaction's columns, details as their canonical
# text) and ``x.lines`` (its entries as LINE, joined by commas in LINE_ORDER).
CONTENT_HASH = hex_sha256(_FAST)
# The same for the checks, and for them with the details re-serialised (for a stored text that is
# not the details' canonical one).
CHECKED_CONTENT_HASH = hex_sha256(_FAST, checking=True)
RESERIALISED_CONTENT_HASH = hex_sha256(_SLOW, checking=True)

# Links in (lo, hi] whose sequence, previous hash, content hash or link hash disagree.
_SUSPECT_LINKS = text(f"""
WITH links AS MATERIALIZED (
  SELECT seq, transaction_id, prev_hash, chain_hash,
         lag(chain_hash, 1, CAST(:prev_hash AS varchar)) OVER (ORDER BY seq) AS expected_prev,
         lag(seq, 1, CAST(:lo AS bigint)) OVER (ORDER BY seq) + 1 AS expected_seq
  FROM ledger_chain_links WHERE seq > :lo AND seq <= :hi
), lines AS MATERIALIZED (
  -- Entries arrive sorted (a presorted subquery), so each group needs no sort of its own; were the
  -- order ever not kept, the text would differ and the links would be rechecked, never passed.
  SELECT e.transaction_id, string_agg({LINE}, ',') AS lines
  FROM (SELECT e.transaction_id, e.account_id, e.unit, e.amount FROM ledger_entries e
        WHERE e.transaction_id IN (SELECT transaction_id FROM links)
        ORDER BY e.transaction_id, {INDEX_LINE_ORDER}) AS e
  GROUP BY e.transaction_id
), fast AS MATERIALIZED (
  SELECT l.*, t.id AS tx_id, t.content_hash AS stored_content,
         {CHECKED_CONTENT_HASH} AS content
  FROM links l
  LEFT JOIN ledger_transactions t ON t.id = l.transaction_id
  LEFT JOIN lines x ON x.transaction_id = l.transaction_id
), recomputed AS MATERIALIZED (
  SELECT f.seq, f.transaction_id, f.tx_id, f.expected_prev, f.expected_seq, f.chain_hash, f.prev_hash,
         f.stored_content,
         CASE WHEN f.content = f.stored_content OR f.tx_id IS NULL THEN f.content ELSE (
           SELECT {RESERIALISED_CONTENT_HASH}
           FROM ledger_transactions t LEFT JOIN lines x ON x.transaction_id = t.id WHERE t.id = f.tx_id
         ) END AS content
  FROM fast f
), linked AS MATERIALIZED (
  SELECT r.*, {hex_sha256("r.expected_prev || r.content", checking=True)} AS link FROM recomputed r
)
SELECT seq, transaction_id, tx_id, expected_prev, expected_seq
FROM linked
WHERE tx_id IS NULL OR seq <> expected_seq OR prev_hash <> expected_prev
   OR content IS DISTINCT FROM stored_content OR link IS DISTINCT FROM chain_hash
ORDER BY seq
""")

CHUNK = 50_000
# Below this many links Python is quicker than planning the query (tests check after every step).
MIN_LINKS = 2_000


def available(session: Session) -> bool:
    """PostgreSQL on a UTF-8 database with the canonical-JSON function (installed by migration 0019)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return session.scalar(text(
        "SELECT to_regprocedure('ledger_canonical_json(jsonb)') IS NOT NULL"
        " AND current_setting('server_encoding') = 'UTF8'"
    )) is True


def suspect_links(session: Session, *, lo: int, hi: int, prev_hash: str) -> list | None:
    """Links with ``lo < seq <= hi`` whose sequence, previous hash, content hash or link hash the
    database finds wrong, as rows (seq, transaction_id, tx_id, expected_prev, expected_seq);
    ``prev_hash`` is the stored hash of the link at ``lo``. ``None`` if the database could not
    read the chunk (say a details text that is not valid jsonb): the caller checks it in Python."""
    try:
        with session.begin_nested():
            # One big cheap query that the planner overestimates: JIT would compile for seconds.
            session.execute(text("SET LOCAL jit = off"))
            return session.execute(_SUSPECT_LINKS, {"lo": lo, "hi": hi, "prev_hash": prev_hash}).all()
    except DBAPIError:
        return None


def stored_hash_at(session: Session, seq: int) -> str | None:
    """The stored chain hash of the last link at or below ``seq``."""
    return session.scalar(
        text("SELECT chain_hash FROM ledger_chain_links WHERE seq <= :seq ORDER BY seq DESC LIMIT 1"), {"seq": seq}
    )
