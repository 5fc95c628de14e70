"""The book under real concurrency on PostgreSQL: 16+ threads, each with its own session.

No lost update, no overdraft, no deadlock reaching the caller: the only error a caller may see
is a clean ``InsufficientBalance`` (or the refusals the rules call for).
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

import ledger
from ledger.models import Transaction

from .conftest import award, balance, key, open_book, transfer, unsound

THREADS = 16


@pytest.fixture
def factory(pg_url):
    engine = ledger.make_engine(pg_url, pool_size=THREADS + 8, max_overflow=8)
    yield ledger.make_session_factory(engine)
    engine.dispose()


def run_threads(count: int, work) -> list:
    """Start ``count`` threads at once (a barrier); return each one's result or exception."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def runner(index):
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[index] = exc

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


def outcome_kinds(results) -> Counter:
    return Counter(type(r).__name__ for r in results)


def test_opposing_transfers_end_exact_with_no_error_but_insufficient_balance(factory):
    book = open_book(factory, wallets=2)
    a, b = book.wallets
    award(factory, book, a, 400)
    award(factory, book, b, 400)

    def work(index):
        rng = random.Random(index)
        source, target = (a, b) if index % 2 == 0 else (b, a)
        moved, refused = 0, 0
        for _ in range(12):
            amount = rng.randint(1, 120)
            try:
                transfer(factory, book, source, target, amount)
                moved += amount
            except ledger.InsufficientBalance:
                refused += 1
        return source, moved, refused

    results = run_threads(THREADS, work)
    assert all(isinstance(r, tuple) for r in results), outcome_kinds(results)
    a_to_b = sum(moved for source, moved, _ in results if source == a)
    b_to_a = sum(moved for source, moved, _ in results if source == b)
    assert balance(factory, a) == 400 - a_to_b + b_to_a
    assert balance(factory, b) == 400 + a_to_b - b_to_a
    assert unsound(factory) == {}


def test_many_requests_for_a_wallets_last_coins_never_overdraw(factory):
    book = open_book(factory, wallets=1)
    wallet = book.wallets[0]
    award(factory, book, wallet, 100)
    requests = 2 * THREADS

    results = run_threads(requests, lambda i: transfer(factory, book, wallet, book.till, 7))

    kinds = outcome_kinds(results)
    assert kinds == Counter({"Posted": 100 // 7, "InsufficientBalance": requests - 100 // 7}), kinds
    assert balance(factory, wallet) == 100 % 7
    assert balance(factory, book.till) == 7 * (100 // 7)
    assert unsound(factory) == {}


def test_spenders_that_keep_trying_stop_exactly_at_zero(factory):
    book = open_book(factory, wallets=1)
    wallet = book.wallets[0]
    award(factory, book, wallet, 1000)

    def work(index):
        spent = 0
        amount = 1 + index % 5
        while True:
            try:
                transfer(factory, book, wallet, book.till, amount)
                spent += amount
            except ledger.InsufficientBalance:
                return spent

    results = run_threads(THREADS, work)
    assert all(isinstance(r, int) for r in results), outcome_kinds(results)
    assert sum(results) == 1000 - balance(factory, wallet)
    assert 0 <= balance(factory, wallet) < 5  # every thread stopped only once it could not pay
    assert unsound(factory) == {}


def test_awards_from_one_issuance_account_all_succeed_in_parallel(factory):
    book = open_book(factory, wallets=THREADS)

    def work(index):
        for n in range(10):
            award(factory, book, book.wallets[index], 1 + n)
        return True

    results = run_threads(THREADS, work)
    assert results == [True] * THREADS, outcome_kinds(results)
    assert [balance(factory, w) for w in book.wallets] == [55] * THREADS
    assert balance(factory, book.issuance) == -55 * THREADS
    assert unsound(factory) == {}


@pytest.mark.parametrize("posting", ["award", "transfer"])
def test_concurrent_duplicates_with_one_key_post_exactly_once(factory, posting):
    book = open_book(factory, wallets=2)
    award(factory, book, book.wallets[0], 100)
    shared = key()

    def work(_):
        if posting == "award":
            return award(factory, book, book.wallets[1], 30, idempotency_key=shared)
        return transfer(factory, book, book.wallets[0], book.wallets[1], 30, idempotency_key=shared)

    results = run_threads(THREADS, work)
    assert all(isinstance(r, ledger.Posted) for r in results), outcome_kinds(results)
    assert len({r.transaction_id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * (THREADS - 1)
    assert balance(factory, book.wallets[1]) == 30
    assert balance(factory, book.wallets[0]) == (100 if posting == "award" else 70)
    with factory() as session:
        assert session.scalar(select(func.count()).where(Transaction.idempotency_key == shared)) == 1
    assert unsound(factory) == {}


def test_concurrent_duplicates_with_a_different_payload_conflict(factory):
    book = open_book(factory, wallets=1)
    shared = key()
    results = run_threads(
        THREADS, lambda i: award(factory, book, book.wallets[0], 10 if i % 2 else 20, idempotency_key=shared)
    )
    posted = [r for r in results if isinstance(r, ledger.Posted)]
    conflicts = [r for r in results if isinstance(r, ledger.IdempotencyConflict)]
    assert len(posted) + len(conflicts) == THREADS, outcome_kinds(results)
    assert len({p.transaction_id for p in posted}) == 1
    assert balance(factory, book.wallets[0]) in (10, 20)
    winner = balance(factory, book.wallets[0])
    assert len(posted) == THREADS // 2 and len(conflicts) == THREADS // 2, (winner, outcome_kinds(results))


def test_concurrent_double_reversal_succeeds_exactly_once(factory):
    book = open_book(factory, wallets=1)
    original = award(factory, book, book.wallets[0], 50)

    results = run_threads(
        THREADS,
        lambda i: ledger.run_in_transaction(
            factory,
            lambda s: ledger.reverse(
                s, transaction_id=original.transaction_id, idempotency_key=key(), memo="撤销"
            ),
        ),
    )

    kinds = outcome_kinds(results)
    assert kinds == Counter({"Posted": 1, "AlreadyReversed": THREADS - 1}), kinds
    reversal = next(r for r in results if isinstance(r, ledger.Posted))
    assert {r.details["reversal_id"] for r in results if isinstance(r, ledger.AlreadyReversed)} == {
        reversal.transaction_id
    }
    assert balance(factory, book.wallets[0]) == 0
    assert balance(factory, book.issuance) == 0
    assert unsound(factory) == {}


def test_reversal_racing_a_spend_never_overdraws(factory):
    """Reversing an award while the member spends it: one of them loses cleanly."""
    book = open_book(factory, wallets=1)
    wallet = book.wallets[0]
    original = award(factory, book, wallet, 40)

    def work(index):
        if index == 0:
            return ledger.run_in_transaction(
                factory,
                lambda s: ledger.reverse(
                    s, transaction_id=original.transaction_id, idempotency_key=key(), memo="撤销"
                ),
            )
        return transfer(factory, book, wallet, book.till, 10)

    results = run_threads(THREADS, work)
    assert set(outcome_kinds(results)) <= {"Posted", "InsufficientBalance"}, outcome_kinds(results)
    reversed_ok = isinstance(results[0], ledger.Posted)
    spends = sum(isinstance(r, ledger.Posted) for r in results[1:])
    assert balance(factory, wallet) == (0 if reversed_ok else 40 - 10 * spends)
    assert (spends == 0) if reversed_ok else (spends == 4)
    assert unsound(factory) == {}
