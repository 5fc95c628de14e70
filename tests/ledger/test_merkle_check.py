"""Reconciliation recomputes the sealed Merkle blocks from the stored content hashes, streaming:
a changed leaf (even with the hash chain re-linked over it) or a changed stored root or block hash
is found, on SQLite and PostgreSQL; a sound book passes."""

from __future__ import annotations

import functools
import hashlib

import pytest
from sqlalchemy import select

import ledger
from ledger import merkle, verify
from ledger.models import ChainLink
from ledger.verify import verify_all

from . import tampering
from .conftest import award, open_book

TRANSACTIONS = 23
BLOCK = 5  # links per block: blocks 1-4 of five links, block 5 of three


def _merkle_findings(found) -> set[tuple[str, str]]:
    return {(d.check, d.subject) for d in found if d.check.startswith("merkle")}


@pytest.fixture
def blocks(session_factory):
    book = open_book(session_factory, wallets=2)
    for n in range(TRANSACTIONS):
        award(session_factory, book, book.wallets[n % 2], n + 1)

    def close_blocks(session):
        ledger.seal(session)
        while merkle.build_block(session, max_links=BLOCK) is not None:
            pass

    ledger.run_in_transaction(session_factory, close_blocks)
    with session_factory() as session:
        assert session.scalar(select(merkle.MerkleBlock.number).order_by(merkle.MerkleBlock.number.desc())) == 5
    return book


@pytest.fixture
def tamper(database_url):
    return functools.partial(tampering.tamper, database_url)


def _check(session_factory, **kwargs):
    with session_factory() as session:
        return verify.chain_valid(session, sealed_within=None, **kwargs)


def test_a_sound_book_with_blocks_passes(session_factory, blocks):
    with session_factory() as session:
        assert {name: found for name, found in verify_all(session).items() if found} == {}
        assert verify.merkle_blocks_valid(session) == []


def test_a_leaf_rewritten_with_the_chain_relinked_over_it_is_found(session_factory, blocks, tamper):
    """The attacker edits a sealed transaction (block 2), stores its new content hash and re-links
    every later chain link: the chain is consistent again, the block's stored root is not."""
    with session_factory() as session:
        tampering.rewrite_and_relink(session, tamper, BLOCK + 2, "奖励 (改过)")  # seq 7, in block 2
    found = _check(session_factory)
    assert [d for d in found if not d.check.startswith("merkle")] == []  # the chain alone is fooled
    assert _merkle_findings(found) == {("merkle_root", "merkle_block:2")}


def test_a_changed_stored_root_is_found(session_factory, blocks, tamper):
    tamper("UPDATE ledger_merkle_blocks SET root = :r WHERE number = 3", r="ab" * 32)
    assert _merkle_findings(_check(session_factory)) == {
        ("merkle_root", "merkle_block:3"), ("merkle_block_hash", "merkle_block:3")}


def test_a_block_rewritten_whole_breaks_the_chain_of_blocks_after_it(session_factory, blocks, tamper):
    forged_root = "cd" * 32
    with session_factory() as session:
        prev = session.scalar(select(merkle.MerkleBlock.prev_hash).where(merkle.MerkleBlock.number == 2))
    tamper("UPDATE ledger_merkle_blocks SET root = :r, block_hash = :h WHERE number = 2",
           r=forged_root, h=merkle.block_hash(prev, forged_root))
    assert _merkle_findings(_check(session_factory)) == {
        ("merkle_root", "merkle_block:2"), ("merkle_block_prev", "merkle_block:3")}


@pytest.mark.parametrize(("sql", "expected"), [
    ("UPDATE ledger_merkle_blocks SET first_seq = first_seq + 1 WHERE number = 4",
     {("merkle_block_range", "merkle_block:4"), ("merkle_root", "merkle_block:4")}),
    ("UPDATE ledger_merkle_blocks SET last_seq = last_seq + 1 WHERE number = 5",
     {("merkle_block_links", "merkle_block:5")}),
    ("DELETE FROM ledger_merkle_blocks WHERE number = 1",
     {("merkle_block_range", "merkle_block:2"), ("merkle_block_prev", "merkle_block:2")}),
])
def test_blocks_that_skip_or_claim_links_are_found(session_factory, blocks, tamper, sql, expected):
    tamper(sql)
    assert _merkle_findings(_check(session_factory)) == expected


def test_an_incremental_run_recomputes_the_blocks_past_its_watermark(session_factory, blocks, tamper):
    tamper("UPDATE ledger_merkle_blocks SET root = :r WHERE number = 1", r="ab" * 32)
    tamper("UPDATE ledger_merkle_blocks SET root = :r WHERE number = 5", r="ef" * 32)
    with session_factory() as session:
        at = session.execute(select(ChainLink.seq, ChainLink.chain_hash).where(ChainLink.seq == 20)).one()
    found = _merkle_findings(_check(session_factory, after_seq=at.seq, prev_hash=at.chain_hash))
    # Block 1's root is not recomputed (an earlier run did), but its hash no longer matches it.
    assert found == {("merkle_block_hash", "merkle_block:1"), ("merkle_root", "merkle_block:5"),
                     ("merkle_block_hash", "merkle_block:5")}


def test_the_leaves_are_read_in_chunks(session_factory, blocks, monkeypatch):
    fetched = []
    leaves = merkle._leaf_chunk

    def spy(session, after_seq, upto_seq):
        rows = leaves(session, after_seq, upto_seq)
        fetched.append(len(rows))
        return rows

    monkeypatch.setattr(merkle, "LEAF_CHUNK", 2)
    monkeypatch.setattr(merkle, "_leaf_chunk", spy)
    with session_factory() as session:
        assert verify.merkle_blocks_valid(session) == []
    assert sum(fetched) == TRANSACTIONS and max(fetched) == 2


def test_a_content_hash_that_is_not_hex_is_found_not_raised(session_factory, blocks, tamper):
    with session_factory() as session:
        victim = session.scalar(select(ChainLink.transaction_id).where(ChainLink.seq == 12))  # block 3
    tamper("UPDATE ledger_transactions SET content_hash = :h WHERE id = :id", h="zz" * 32, id=victim)
    assert _merkle_findings(_check(session_factory)) == {("merkle_root", "merkle_block:3")}


@pytest.mark.parametrize("size", [*range(1, 40), 64, 65, 100, 257])
def test_the_streamed_root_is_the_root_of_the_tree(size):
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(size)]
    streamed = merkle.StreamedRoot()
    for h in hashes:
        streamed.add(h)
    assert streamed.count == size and streamed.root() == merkle.merkle_root(hashes)


@pytest.mark.parametrize("chunks", [[1], [5], [8], [3, 5], [8, 8, 1], [4, 4, 4], [7, 1, 16, 3], [64, 1, 64, 100]])
def test_leaves_added_in_runs_give_the_root_of_the_tree(chunks):
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(sum(chunks))]
    streamed, start = merkle.StreamedRoot(), 0
    for size in chunks:
        streamed.add_many(hashes[start:start + size])
        start += size
    assert streamed.count == len(hashes) and streamed.root() == merkle.merkle_root(hashes)


def test_leaves_of_links_sealed_out_of_id_order_are_their_own(pg_url, monkeypatch):
    """A posting that commits after later ones were sealed gets a link past theirs: the chain's
    order is not the transactions' id order. Each chunk's leaves (read by a range join over the
    ids its links name) are still each link's own content hash, in chain order, and the blocks
    built over them verify."""
    engine = ledger.make_engine(pg_url)
    factory = ledger.make_session_factory(engine)
    book = open_book(factory, wallets=3)
    late = factory()  # on a wallet of its own, so the others' postings do not wait for its lock
    ledger.post(late, lines=[ledger.Line(book.wallets[2], 7), ledger.Line(book.issuance, -7)],
                idempotency_key="late-committer", kind="award", community_id=book.community_id)
    late.flush()  # its transaction id is drawn now, below every posting that follows
    for n in range(9):
        award(factory, book, book.wallets[n % 2], n + 1)
    ledger.run_in_transaction(factory, ledger.seal)
    late.commit()
    late.close()
    for n in range(4):
        award(factory, book, book.wallets[n % 2], n + 1)

    def close_blocks(session):
        ledger.seal(session)
        while merkle.build_block(session, max_links=4) is not None:
            pass

    ledger.run_in_transaction(factory, close_blocks)
    with factory() as session:
        links = session.execute(select(ChainLink.seq, ChainLink.transaction_id).order_by(ChainLink.seq)).all()
        assert [link.transaction_id for link in links] != sorted(link.transaction_id for link in links)
        content = dict(session.execute(select(ledger.models.Transaction.id,
                                              ledger.models.Transaction.content_hash)).all())
        expected = [content[link.transaction_id] for link in links]
        for width in (1, 3, len(links)):
            read = [leaf for after in range(0, len(links), width)
                    for leaf in merkle._leaf_chunk(session, after, after + width)]
            assert read == expected
        monkeypatch.setattr(merkle, "LEAF_CHUNK", 2)
        assert verify.merkle_blocks_valid(session) == []
    engine.dispose()
