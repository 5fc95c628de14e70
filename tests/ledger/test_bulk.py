"""``ledger.bulk.post_groups``: a batch of postings with ``post``'s rules, hashes and idempotency."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import ledger
from ledger import Line, Transaction
from ledger.bulk import Posting, post_groups
from ledger.errors import IdempotencyConflict, InsufficientBalance, InvalidPosting
from ledger.models import ChainLink, Entry

from .conftest import award, balance, footprint, key, open_book, unsound
from .test_chain_sql import AWKWARD_DETAILS


def _award(book, wallet, amount, idempotency_key=None, **fields):
    return Posting(lines=[Line(wallet, amount), Line(book.issuance, -amount)],
                   idempotency_key=idempotency_key or key(), kind="award", community_id=book.community_id,
                   **fields)


def _spend(book, wallet, amount):
    return Posting(lines=[Line(wallet, -amount), Line(book.till, amount)], idempotency_key=key(), kind="redemption",
                   community_id=book.community_id)


def _post(session_factory, groups, **options):
    return ledger.run_in_transaction(session_factory, lambda s: post_groups(s, groups, **options))


def test_a_batch_posts_like_post_one_by_one_same_hashes_balances_and_versions(session_factory):
    book = open_book(session_factory)
    alice, bob = book.wallets[:2]
    award(session_factory, book, alice, 5)  # a balance and version from before the batch
    groups = [[_award(book, alice, 10, "k1", memo="旧台账", details={"source": "import"})],
              [_award(book, bob, 7, "k2"), _spend(book, bob, 3)],
              [_spend(book, alice, 15)]]
    results = _post(session_factory, groups)
    assert [len(r) for r in results] == [1, 2, 1] and not any(p.replayed for r in results for p in r)
    assert results[0][0].balances == {alice: 15} and results[2][0].balances == {alice: 0}
    assert balance(session_factory, alice) == 0 and balance(session_factory, bob) == 4
    with session_factory() as session:
        entries = session.execute(
            select(Entry.account_id, Entry.balance_after, Entry.account_version).where(Entry.account_id == alice)
            .order_by(Entry.id)
        ).all()
        assert [tuple(e) for e in entries] == [(alice, 5, 1), (alice, 15, 2), (alice, 0, 3)]
        first = session.get(Transaction, results[0][0].transaction_id)
        digest = ledger.posting.request_hash(
            kind="award", community_id=book.community_id, lines=sorted([(alice, 10), (book.issuance, -10)]),
            memo="旧台账", actor_id=None, location=None, details={"source": "import"}, reverses_id=None,
            related_id=None,
        )
        assert first.request_hash == digest
        assert first.content_hash == ledger.chain.content_hash(
            idempotency_key=first.idempotency_key, kind=first.kind, community_id=first.community_id,
            created_at=first.created_at, memo=first.memo, actor_id=first.actor_id, location=first.location,
            details=first.details, reverses_id=first.reverses_id, related_id=first.related_id,
            lines=[(e.account_id, e.unit, e.amount) for e in first.entries],
        )
    assert unsound(session_factory) == {}


def test_a_refused_posting_refuses_its_whole_group_and_the_others_go_on(session_factory):
    book = open_book(session_factory)
    alice, bob = book.wallets[:2]
    before = footprint(session_factory)
    results = _post(session_factory, [
        [_award(book, alice, 10), _spend(book, alice, 11)],  # the award alone would pass
        [_award(book, bob, 4)],
        [_award(book, bob, 0)],
        [Posting(lines=[Line(bob, 5), Line(book.hour_issuance, -5)], idempotency_key=key(), kind="award",
                 community_id=book.community_id)],
    ])
    assert isinstance(results[0], InsufficientBalance) and results[0].code == "insufficient_balance"
    assert isinstance(results[2], InvalidPosting) and isinstance(results[3], InvalidPosting)
    assert results[1][0].balances == {bob: 4}
    assert balance(session_factory, alice) == 0 and balance(session_factory, bob) == 4
    after = footprint(session_factory)
    assert after["counts"]["ledger_transactions"] == before["counts"]["ledger_transactions"] + 1
    assert unsound(session_factory) == {}


def test_keys_replay_the_same_payload_and_refuse_another_in_the_book_and_within_the_batch(session_factory):
    book = open_book(session_factory)
    alice = book.wallets[0]
    award(session_factory, book, alice, 5, idempotency_key="before")
    results = _post(session_factory, [
        [_award(book, alice, 5, "before")],          # posted before: replayed
        [_award(book, alice, 6, "before")],          # posted before with another amount
        [_award(book, alice, 2, "twice")],
        [_award(book, alice, 2, "twice")],           # earlier in this batch: replayed
        [_award(book, alice, 3, "twice")],
    ])
    assert results[0][0].replayed and results[3][0].replayed and not results[2][0].replayed
    assert results[3][0].transaction_id == results[2][0].transaction_id
    assert isinstance(results[1], IdempotencyConflict) and isinstance(results[4], IdempotencyConflict)
    assert balance(session_factory, alice) == 7
    again = _post(session_factory, [[_award(book, alice, 2, "twice")]])
    assert again[0][0].replayed and again[0][0].transaction_id == results[2][0].transaction_id
    assert unsound(session_factory) == {}


def test_seal_links_the_batch_after_what_was_waiting_and_the_chain_verifies(session_factory):
    book = open_book(session_factory)
    waiting = award(session_factory, book, book.wallets[0], 1)  # committed, not sealed yet
    results = _post(session_factory, [[_award(book, w, 3)] for w in book.wallets], seal=True)
    with session_factory() as session:
        links = session.execute(select(ChainLink.transaction_id, ChainLink.sealed_at).order_by(ChainLink.seq)).all()
        issued = session.execute(select(Entry.balance_after, Entry.account_version).where(
            Entry.transaction_id == results[0][0].transaction_id, Entry.account_id == book.issuance)).one()
    assert [tx for tx, _ in links[-5:]] == [waiting.transaction_id, *(r[0].transaction_id for r in results)]
    assert all(abs(at - ledger.utcnow()) < dt.timedelta(minutes=5) for _, at in links[-4:])
    assert tuple(issued) == (None, None)  # an untracked account's entry has no balance or version
    assert unsound(session_factory) == {}


@pytest.mark.parametrize("rows", [1, 3])
def test_a_batch_with_nothing_new_writes_nothing(session_factory, rows):
    book = open_book(session_factory)
    postings = [[_award(book, book.wallets[0], 2, f"same-{n}")] for n in range(rows)]
    _post(session_factory, postings)
    before = footprint(session_factory)
    results = _post(session_factory, postings, seal=True)
    assert all(r[0].replayed for r in results)
    assert footprint(session_factory) == before



def _same_hashes_as_post(session_factory, posting):
    """Post ``posting`` with ``ledger.post`` (rolled back) and with ``post_groups`` at the same moment:
    the request and content hashes must be byte for byte the same."""
    moment = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)

    def hashes(session, transaction_id):
        row = session.get(Transaction, transaction_id)
        return row.content_hash, row.request_hash

    with session_factory() as session, ledger.posting_time(moment):
        posted = ledger.post(session, lines=posting.lines, idempotency_key=posting.idempotency_key, kind=posting.kind,
                             community_id=posting.community_id, memo=posting.memo, actor_id=posting.actor_id,
                             location=posting.location, details=posting.details, related_id=posting.related_id)
        by_post = hashes(session, posted.transaction_id)
        session.rollback()
    with ledger.posting_time(moment):
        [[bulk]] = _post(session_factory, [[posting]], seal=True)
    with session_factory() as session:
        assert hashes(session, bulk.transaction_id) == by_post
    assert unsound(session_factory) == {}


@pytest.mark.parametrize("details", AWKWARD_DETAILS)
def test_a_bulk_posted_transaction_has_the_hashes_post_gives_the_same_posting(session_factory, details):
    """On PostgreSQL the database makes a batch's request and content hashes; they must be byte for
    byte the ones ``ledger.post`` makes in Python (awkward text, lines out of order, every optional field)."""
    book = open_book(session_factory)
    wallet = book.wallets[0]
    related = award(session_factory, book, wallet, 1).transaction_id
    _same_hashes_as_post(session_factory, Posting(
        lines=[Line(book.issuance, -7), Line(book.wallets[1], 2), Line(wallet, 5)], idempotency_key=key() + ' "键" \\',
        kind="award", community_id=book.community_id, memo='备注 "quoted" \\ tab\there\n', actor_id=42,
        location="station:1 柜台", details=details, related_id=related,
    ))


def test_a_bulk_posting_without_optional_fields_has_the_hashes_post_gives_it(session_factory):
    book = open_book(session_factory)
    _same_hashes_as_post(session_factory, Posting(
        lines=[Line(book.wallets[2], 30), Line(book.issuance, -30)], idempotency_key=key(), kind="opening_balance",
        community_id=book.community_id,
    ))
