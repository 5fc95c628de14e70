"""Full and incremental reconciliation recompute the sealed Merkle blocks (the published head's
blocks): a stored root or a rewritten, re-linked transaction fails the run under the hash chain's
check, on SQLite (the checks one by one) and PostgreSQL (the three passes and the Merkle pass)."""

from __future__ import annotations

import functools

import pytest
from sqlalchemy import select

import ledger
from ledger import merkle
from service.extensions import db
from service.jobs import reconciliation
from tests.ledger import tampering

LINKS_PER_BLOCK = 3


@pytest.fixture
def tamper(database_url):
    """SQL straight against the database, past the append-only triggers (the Merkle blocks' too)."""
    return functools.partial(tampering.tamper, database_url)


@pytest.fixture
def blocked_book(app, world):
    """Residents credited a few times, every transaction sealed and in a block of three links."""
    community = world.community()
    for n in range(4):
        member = world.member(community, name=f"居民{n}")
        for amount in (5, 7):
            world.credit(member, amount + n)

    def close_blocks(session):
        ledger.seal(session)
        while merkle.build_block(session, max_links=LINKS_PER_BLOCK) is not None:
            pass

    with app.app_context():
        db.run(close_blocks)
        blocks = db.session.scalar(select(merkle.MerkleBlock.number).order_by(merkle.MerkleBlock.number.desc()))
    assert blocks >= 3
    return blocks


def _run(app, mode="full"):
    engine, factory = app.extensions["greencoin_db"]
    return reconciliation.run_reconciliation(factory, engine, mode=mode, trigger="manual")


def _found(record) -> set[tuple[str, str]]:
    return {(d.check, d.subject) for d in record.discrepancies}


def test_an_untampered_book_with_blocks_passes_full_and_incremental(app, blocked_book):
    assert _run(app).status == "passed"
    assert _run(app, "incremental").status == "passed"


def test_a_changed_stored_root_fails_full_and_incremental_runs(app, blocked_book, tamper):
    assert _run(app).status == "passed"
    tamper("UPDATE ledger_merkle_blocks SET root = :r WHERE number = 2", r="ab" * 32)
    incremental = _run(app, "incremental")  # its watermark is past every block: the block's hash catches it
    assert _found(incremental) == {("merkle_block_hash", "merkle_block:2")}
    full = _run(app)
    assert full.status == "failed"
    assert _found(full) == {("merkle_root", "merkle_block:2"), ("merkle_block_hash", "merkle_block:2")}
    assert {d.check for d in full.discrepancies} <= {"merkle_root", "merkle_block_hash"}


def test_a_rewritten_transaction_with_the_chain_relinked_fails_on_its_block_root(app, blocked_book, tamper):
    with app.app_context():
        tampering.rewrite_and_relink(db.session, tamper, LINKS_PER_BLOCK + 1, "开户余额 (改过)")  # block 2
    record = _run(app)
    assert record.status == "failed"
    assert _found(record) == {("merkle_root", "merkle_block:2")}
