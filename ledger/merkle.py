"""Merkle blocks over the sealed chain, so one line can be proven to be in the books.

The hash chain (chain.py) shows that nothing sealed was changed, but proving that one transaction
is in it would need every later link. So sealed links are grouped into **blocks** (made by a
nightly job, or on demand): a block's Merkle root is built over its transactions' content hashes
in chain order, and the blocks are chained by ``block_hash = sha256(prev_block_hash || root)``.
The newest block hash is the published head. A statement line then carries its transaction's
canonical content (which hashes to its content hash), its Merkle path to its block's root, and
the block hashes from that block to the head: a few kilobytes anyone can check offline.

Tree: ``leaf = sha256(0x00 || content_hash)``, ``node = sha256(0x01 || left || right)`` over raw
32-byte digests; an odd node at the end of a level is carried up unchanged. docs/statement-proofs.md
specifies the statement format with test vectors; ``verify_statement`` is the reference verifier.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import chain
from .db import execute_hot
from .models import Base, ChainLink, Entry, Transaction, UTCDateTime, utcnow

FORMAT = "greencoin-statement/1"
GENESIS = chain.GENESIS_HASH


class MerkleBlock(Base):
    """A block of sealed chain links ``first_seq..last_seq`` with the Merkle root of their
    transactions' content hashes, chained to the previous block."""

    __tablename__ = "ledger_merkle_blocks"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    root: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    block_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)


# --- the tree ---------------------------------------------------------------------------------


def leaf_digest(content_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(content_hash)).digest()


def node_digest(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def block_hash(prev_hash: str, root: str) -> str:
    return chain.link_hash(prev_hash, root)


def merkle_root(content_hashes: Sequence[str]) -> str:
    level = [leaf_digest(h) for h in content_hashes]
    if not level:
        raise ValueError("a block has at least one transaction")
    while len(level) > 1:
        level = [node_digest(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0].hex()


def merkle_path(content_hashes: Sequence[str], index: int) -> list[list[str]]:
    """The siblings from leaf ``index`` up to the root: ``[side, hex]`` with side "L" when the
    sibling is on the left. A carried-up odd node adds no step."""
    level = [leaf_digest(h) for h in content_hashes]
    path = []
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(["L" if sibling < index else "R", level[sibling].hex()])
        level = [node_digest(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
        index //= 2
    return path


def root_from_path(content_hash: str, path: Sequence[Sequence[str]]) -> str:
    digest = leaf_digest(content_hash)
    for side, sibling in path:
        other = bytes.fromhex(sibling)
        digest = node_digest(other, digest) if side == "L" else node_digest(digest, other)
    return digest.hex()


class StreamedRoot:
    """``merkle_root`` of leaves given one at a time, in memory that grows with the tree's height only.

    The stack holds the roots of the complete subtrees so far, one per level, highest first; the end
    folds them from the right, which is where ``merkle_root`` carries an odd node up unchanged."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.count = 0

    def add(self, content_hash: str) -> None:
        self._push(0, leaf_digest(content_hash), 1)

    def add_many(self, content_hashes: Sequence[str]) -> None:
        """``add`` each, faster: every run of leaves that makes a whole subtree where the tree is
        now (2**k leaves while ``count`` is a multiple of 2**k) is hashed a level at a time, by list,
        and pushed as one node of height k."""
        start, total = 0, len(content_hashes)
        while start < total:
            height = (total - start).bit_length() - 1
            while self.count % (1 << height):
                height -= 1
            level = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest()
                     for h in content_hashes[start:start + (1 << height)]]
            while len(level) > 1:
                level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
            self._push(height, level[0], 1 << height)
            start += 1 << height

    def _push(self, level: int, digest: bytes, leaves: int) -> None:
        while self._stack and self._stack[-1][0] == level:
            digest, level = node_digest(self._stack.pop()[1], digest), level + 1
        self._stack.append((level, digest))
        self.count += leaves

    def root(self) -> str:
        if not self._stack:
            raise ValueError("a block has at least one transaction")
        digest = self._stack[-1][1]
        for _level, left in reversed(self._stack[:-1]):
            digest = node_digest(left, digest)
        return digest.hex()


# --- blocks in the database ---------------------------------------------------------------------


def _block_leaves(session: Session, first_seq: int, last_seq: int) -> list[tuple[int, str]]:
    """(transaction id, content hash) of the block's links in chain order."""
    return session.execute(
        select(ChainLink.transaction_id, Transaction.content_hash)
        .join(Transaction, Transaction.id == ChainLink.transaction_id)
        .where(ChainLink.seq.between(first_seq, last_seq))
        .order_by(ChainLink.seq)
    ).all()


def latest_block(session: Session) -> MerkleBlock | None:
    return session.scalars(select(MerkleBlock).order_by(MerkleBlock.number.desc()).limit(1)).first()


def build_block(session: Session, *, max_links: int = 200_000) -> MerkleBlock | None:
    """Close one block over the links sealed since the last block (None when there are none).

    Call inside a unit of work after sealing; safe to run twice (a second run finds nothing new).
    The caller holds the sealer's lock order: blocks are only built from already-sealed links."""
    last = latest_block(session)
    first_seq = (last.last_seq if last else 0) + 1
    last_seq = session.scalar(select(func.max(ChainLink.seq))) or 0
    if last_seq < first_seq:
        return None
    last_seq = min(last_seq, first_seq + max_links - 1)
    root, count = recomputed_root(session, first_seq, last_seq)
    if root is None or count != last_seq - first_seq + 1:
        raise RuntimeError(f"links {first_seq}..{last_seq} are not each a sealed transaction: no block built")
    prev = last.block_hash if last else GENESIS
    block = MerkleBlock(
        number=(last.number if last else 0) + 1, first_seq=first_seq, last_seq=last_seq,
        root=root, prev_hash=prev, block_hash=block_hash(prev, root),
    )
    session.add(block)
    session.flush()
    return block


def build_blocks(session: Session) -> int:
    """Build blocks until every sealed link is in one; returns how many were built."""
    built = 0
    while build_block(session) is not None:
        built += 1
    return built


# Links read at a time when a block's root is recomputed, and block headers read at a time.
LEAF_CHUNK = 16_384  # a power of two: every chunk but a block's last is one whole subtree
HEADER_CHUNK = 1_000


# The links of the range first, then their transactions by the range of ids those links name: a
# hash (or merge) join over that range of the primary key instead of one index look-up per link
# (2.1 -> 1.6 s for 1.1 M links, and no parallel workers started for every chunk). Links are sealed
# in commit order, close to id order (a late committer sits at most the sealer's look-back below
# the head), so the range is about as long as the chunk; a link far out of order only makes its
# chunk read a longer range, never a wrong leaf.
_LEAVES = text(
    "WITH links AS MATERIALIZED ("
    " SELECT seq, transaction_id FROM ledger_chain_links WHERE seq > :after AND seq <= :upto)"
    " SELECT t.content_hash FROM links l LEFT JOIN ledger_transactions t ON t.id = l.transaction_id"
    " AND t.id >= (SELECT min(transaction_id) FROM links) AND t.id <= (SELECT max(transaction_id) FROM links)"
    " ORDER BY l.seq"
)


def _leaf_chunk(session: Session, after_seq: int, upto_seq: int) -> list[str | None]:
    """The content hashes of the links ``after_seq < seq <= upto_seq`` in chain order (None for a
    link whose transaction is gone). A range of the primary key, not a LIMIT: the database walks
    that range of links, whatever its statistics say. Sent straight to the driver on PostgreSQL
    (``ledger.db.execute_hot``): it is read for every link of the book, and SQLAlchemy's rows cost
    more than the hashing. (PostgreSQL's own sha256 is slower than Python's for these 33- and
    65-byte inputs, so the hashing stays here.)"""
    rows = execute_hot(session.connection(), _LEAVES, {"after": after_seq, "upto": upto_seq}).fetchall()
    return [content for (content,) in rows]


def recomputed_root(session: Session, first_seq: int, last_seq: int) -> tuple[str | None, int]:
    """The Merkle root over the stored content hashes of links ``first_seq..last_seq`` and how many
    links there are, read ``LEAF_CHUNK`` links at a time (memory stays flat however big the block);
    the root is None if a link has no transaction or its content hash is not a SHA-256 in hex."""
    streamed, intact, count = StreamedRoot(), True, 0
    for after in range(first_seq - 1, last_seq, LEAF_CHUNK):
        leaves = _leaf_chunk(session, after, min(after + LEAF_CHUNK, last_seq))
        count += len(leaves)
        if intact:
            try:
                streamed.add_many(leaves)
            except (TypeError, ValueError):  # a link without its transaction, or a hash that is not hex
                intact = False
    return (streamed.root() if intact and streamed.count else None), count


def block_problems(session: Session, *, after_seq: int = 0) -> Iterator[tuple[str, int, object, object]]:
    """What reconciliation finds wrong with the blocks, as (check, block number, expected, actual).

    Every block follows the one before it (numbers and link ranges without gap or overlap from link 1,
    ``prev_hash`` the stored hash of the block before, ``block_hash`` its own prev hash and root); the
    root of every block with a link after ``after_seq`` is recomputed from the stored content hashes
    (an incremental run leaves the older roots to the run that checked them). The content hashes
    themselves are checked against the transactions by the chain check. Streams: headers and
    links are read in keyset chunks."""
    number, last_seq, prev_hash = 0, 0, GENESIS
    while headers := session.execute(
        select(MerkleBlock.number, MerkleBlock.first_seq, MerkleBlock.last_seq, MerkleBlock.root,
               MerkleBlock.prev_hash, MerkleBlock.block_hash)
        .where(MerkleBlock.number > number).order_by(MerkleBlock.number).limit(HEADER_CHUNK)
    ).all():
        for b in headers:
            if (b.number, b.first_seq) != (number + 1, last_seq + 1) or b.last_seq < b.first_seq:
                yield ("merkle_block_range", b.number, f"block {number + 1} from link {last_seq + 1}",
                       f"block {b.number}: links {b.first_seq}..{b.last_seq}")
            if b.prev_hash != prev_hash:
                yield "merkle_block_prev", b.number, prev_hash, b.prev_hash
            if b.block_hash != block_hash(b.prev_hash, b.root):
                yield "merkle_block_hash", b.number, block_hash(b.prev_hash, b.root), b.block_hash
            if b.last_seq > after_seq:
                root, count = recomputed_root(session, b.first_seq, b.last_seq)
                links = max(b.last_seq - b.first_seq + 1, 0)
                if count != links:
                    yield "merkle_block_links", b.number, links, count
                elif root != b.root:
                    yield "merkle_root", b.number, root, b.root
            number, last_seq, prev_hash = b.number, b.last_seq, b.block_hash


def verify_blocks(session: Session) -> list[dict]:
    """Every block's root and link recomputed from the stored content hashes (``block_problems``)."""
    return [{"block": n, "problem": check} for check, n, _expected, _actual in block_problems(session)]


@dataclass(frozen=True)
class LineProof:
    block: int
    index: int
    path: list[list[str]]


def proofs_for(session: Session, transaction_ids: Sequence[int]) -> dict[int, LineProof]:
    """Merkle proofs of the given transactions that are in a block (the others are not yet)."""
    links = dict(
        session.execute(
            select(ChainLink.transaction_id, ChainLink.seq).where(ChainLink.transaction_id.in_(transaction_ids))
        ).all()
    )
    proofs: dict[int, LineProof] = {}
    if not links:
        return proofs
    # the blocks that cover these links, in one read (a statement may have thousands of lines)
    blocks = {
        b.number: b
        for b in session.scalars(
            select(MerkleBlock)
            .where(MerkleBlock.last_seq >= min(links.values()), MerkleBlock.first_seq <= max(links.values()))
            .order_by(MerkleBlock.number)
        )
    }
    starts = sorted((b.first_seq, b.number) for b in blocks.values())
    by_block: dict[int, list[int]] = {}
    for tx_id, seq in links.items():
        index = bisect.bisect_right(starts, (seq, float("inf"))) - 1
        if index >= 0 and blocks[starts[index][1]].last_seq >= seq:
            by_block.setdefault(starts[index][1], []).append(tx_id)
    for number, tx_ids in by_block.items():
        block = blocks[number]
        leaves = _block_leaves(session, block.first_seq, block.last_seq)
        hashes = [h for _tx, h in leaves]
        position = {tx: i for i, (tx, _h) in enumerate(leaves)}
        for tx_id in tx_ids:
            proofs[tx_id] = LineProof(number, position[tx_id], merkle_path(hashes, position[tx_id]))
    return proofs


def block_headers(session: Session, first_number: int) -> list[dict]:
    """The blocks from ``first_number`` to the newest: what links a proof to the head."""
    rows = session.scalars(select(MerkleBlock).where(MerkleBlock.number >= first_number).order_by(MerkleBlock.number))
    return [{"number": b.number, "root": b.root, "prev": b.prev_hash, "hash": b.block_hash} for b in rows]


def canonical_text(tx: Transaction, entries: Sequence[Entry]) -> str:
    return chain.canonical_content(
        idempotency_key=tx.idempotency_key, kind=tx.kind, community_id=tx.community_id,
        created_at=tx.created_at, memo=tx.memo, actor_id=tx.actor_id, location=tx.location,
        details=tx.details, reverses_id=tx.reverses_id, related_id=tx.related_id,
        lines=[(e.account_id, e.unit, e.amount) for e in entries],
    )


# --- offline verification (no database, no trust in the server) --------------------------------


def verify_statement(document: dict, head: str) -> list[str]:
    """Check a statement document against a published block hash ``head``; the problems found
    (empty: every proven line is in the books that lead to ``head``, with the amount and date shown).

    For each line: its canonical content hashes to the content hash; the content names the line's
    account, unit and amount and the line's time; its Merkle path leads to its block's root; and the
    block headers chain from that block to ``head``. Within each account the lines' versions are
    consecutive and their running balances add up, so a line left out is noticed."""
    problems: list[str] = []
    if document.get("format") != FORMAT:
        return [f"not a {FORMAT} document"]
    headers = {b["number"]: b for b in document.get("blocks", [])}
    numbers = sorted(headers)
    for before, after in zip(numbers, numbers[1:], strict=False):
        if after != before + 1 or headers[after]["prev"] != headers[before]["hash"]:
            problems.append(f"block {after} does not follow block {before}")
    for number in numbers:
        b = headers[number]
        if block_hash(b["prev"], b["root"]) != b["hash"]:
            problems.append(f"block {number}: its hash does not match its root")
    if numbers and headers[numbers[-1]]["hash"] != head.lower():
        problems.append("the blocks do not lead to the given head")
    for n, line in enumerate(document.get("lines", []), start=1):
        label = f"line {n} (transaction {line.get('transaction_id')})"
        text = line.get("canonical", "")
        digest = hashlib.sha256(text.encode()).hexdigest()
        try:
            body = json.loads(text)
        except ValueError:
            problems.append(f"{label}: canonical content is not JSON")
            continue
        if [line["account_id"], line["unit"], line["amount"]] not in body.get("lines", []):
            problems.append(f"{label}: the amount is not the one in the books")
        if body.get("at") != line.get("at"):
            problems.append(f"{label}: the date is not the one in the books")
        proof = line.get("proof")
        if proof is None:
            continue  # sealed but not yet in a block: shown as not yet provable
        block = headers.get(proof["block"])
        if block is None or root_from_path(digest, proof["path"]) != block["root"]:
            problems.append(f"{label}: not in the sealed books")
    by_account: dict[int, list[dict]] = {}
    for line in document.get("lines", []):
        by_account.setdefault(line["account_id"], []).append(line)
    for account, lines in by_account.items():
        lines.sort(key=lambda ln: ln["version"])
        for prev, cur in zip(lines, lines[1:], strict=False):
            if cur["version"] != prev["version"] + 1 or cur["balance_after"] != prev["balance_after"] + cur["amount"]:
                problems.append(f"account {account}: a line is missing before version {cur['version']}")
    return problems
