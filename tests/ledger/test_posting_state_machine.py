"""Random postings, reversals, replays and refusals against an in-memory model of the book.

After every step (on SQLite and on PostgreSQL) the invariants of ``ledger.verify`` hold after
sealing, every balance equals the model's, and a refused posting has left no trace.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

import ledger
from ledger.posting import MAX_AMOUNT

from .conftest import Book, footprint, open_book, unsound

WALLETS = 4


@dataclass(frozen=True)
class Record:
    """What was posted, so it can be replayed exactly or conflicted on purpose."""

    transaction_id: int
    key: str
    lines: tuple[tuple[int, int], ...]
    kind: str
    memo: str
    reverses_id: int | None = None


class LedgerMachine(RuleBasedStateMachine):
    """One fresh database per example; ``new_database`` is set by the test (per backend)."""

    new_database = None
    postings = Bundle("postings")

    def __init__(self):
        super().__init__()
        self.engine = ledger.make_engine(type(self).new_database())
        self.factory = ledger.make_session_factory(self.engine)
        self.book: Book = open_book(self.factory, wallets=WALLETS)
        self.stranger: Book = open_book(self.factory, wallets=1)  # another community
        self.model: dict[int, int] = defaultdict(int)
        self.reversal_of: dict[int, int] = {}  # original id -> reversal id
        self.refused_keys: list[str] = []

    def teardown(self):
        self.engine.dispose()

    # -- helpers ---------------------------------------------------------------------------

    def _post(self, lines, *, kind: str, memo: str = "", key: str | None = None) -> Record | None:
        """Post through a committed unit of work; on a refusal assert it left no trace."""
        key = key or f"sm:{uuid.uuid4().hex}"
        feasible = all(
            self.model[account] + amount >= 0 for account, amount in lines if account in self._tracked
        )
        before = footprint(self.factory)
        try:
            posted = ledger.run_in_transaction(
                self.factory,
                lambda s: ledger.post(
                    s,
                    lines=[ledger.Line(a, m) for a, m in lines],
                    idempotency_key=key,
                    kind=kind,
                    community_id=self.book.community_id,
                    memo=memo,
                ),
            )
        except ledger.InsufficientBalance:
            assert not feasible, "refused a posting the model allows"
            assert footprint(self.factory) == before, "a refused posting left a trace"
            self.refused_keys.append(key)
            return None
        assert feasible, "accepted a posting that overdraws a wallet"
        assert not posted.replayed
        for account, amount in lines:
            self.model[account] += amount
            if account in self._tracked:
                assert posted.balances[account] == self.model[account]
        return Record(posted.transaction_id, key, tuple(lines), kind, memo)

    @property
    def _tracked(self) -> set[int]:
        return {*self.book.wallets, self.book.hour_wallet}

    def _refused_without_trace(self, error: type[Exception], work) -> Exception:
        before = footprint(self.factory)
        with pytest.raises(error) as caught:
            ledger.run_in_transaction(self.factory, work)
        assert footprint(self.factory) == before, f"{error.__name__} left a trace"
        return caught.value

    # -- postings --------------------------------------------------------------------------

    @rule(target=postings, wallet=st.integers(0, WALLETS - 1), amount=st.integers(1, 300))
    def award_from_issuance(self, wallet, amount):
        record = self._post(
            [(self.book.wallets[wallet], amount), (self.book.issuance, -amount)], kind="award"
        )
        return record

    @rule(target=postings, minutes=st.integers(1, 600))
    def credit_hours(self, minutes):
        lines = [(self.book.hour_wallet, minutes), (self.book.hour_issuance, -minutes)]
        return self._post(lines, kind="volunteer_hours")

    @rule(
        target=postings,
        source=st.integers(0, WALLETS - 1),
        target_wallet=st.integers(0, WALLETS - 1),
        amount=st.integers(1, 400),
    )
    def transfer_between_wallets(self, source, target_wallet, amount):
        if source == target_wallet:
            return multiple()
        lines = [(self.book.wallets[source], -amount), (self.book.wallets[target_wallet], amount)]
        return self._post(lines, kind="transfer") or multiple()

    @rule(
        target=postings,
        wallet=st.integers(0, WALLETS - 1),
        to_till=st.integers(1, 200),
        to_other=st.integers(1, 200),
    )
    def split_payment(self, wallet, to_till, to_other):
        """Three entries: one wallet pays the till and another wallet."""
        payer, other = self.book.wallets[wallet], self.book.wallets[(wallet + 1) % WALLETS]
        lines = [(payer, -(to_till + to_other)), (self.book.till, to_till), (other, to_other)]
        return self._post(lines, kind="basket") or multiple()

    @rule(target=postings, wallet=st.integers(0, WALLETS - 1))
    def expire_whole_wallet(self, wallet):
        account = self.book.wallets[wallet]
        amount = self.model[account]
        if amount == 0:
            return multiple()
        return self._post([(account, -amount), (self.book.sink, amount)], kind="expiry")

    @rule(
        case=st.sampled_from(
            [
                "unbalanced",
                "zero",
                "single_line",
                "same_account_twice",
                "unknown_account",
                "other_community",
                "mixed_units",
                "float_amount",
                "bool_amount",
                "huge_amount",
                "empty_key",
                "long_key",
                "no_kind",
            ]
        )
    )
    def malformed_posting_is_refused(self, case):
        wallet, issuance = self.book.wallets[0], self.book.issuance
        lines = [ledger.Line(wallet, 5), ledger.Line(issuance, -5)]
        key, kind = f"bad:{uuid.uuid4().hex}", "award"
        if case == "unbalanced":
            lines = [ledger.Line(wallet, 5), ledger.Line(issuance, -4)]
        elif case == "zero":
            lines = [ledger.Line(wallet, 0), ledger.Line(issuance, 0)]
        elif case == "single_line":
            lines = [ledger.Line(wallet, 5)]
        elif case == "same_account_twice":
            lines = [ledger.Line(wallet, 5), ledger.Line(wallet, -5)]
        elif case == "unknown_account":
            lines = [ledger.Line(10**15, 5), ledger.Line(issuance, -5)]
        elif case == "other_community":
            lines = [ledger.Line(self.stranger.wallets[0], 5), ledger.Line(issuance, -5)]
        elif case == "mixed_units":
            lines = [ledger.Line(self.book.hour_wallet, 5), ledger.Line(issuance, -5)]
        elif case == "float_amount":
            lines = [ledger.Line(wallet, 5.0), ledger.Line(issuance, -5.0)]
        elif case == "bool_amount":
            lines = [ledger.Line(wallet, True), ledger.Line(issuance, -1)]
        elif case == "huge_amount":
            lines = [ledger.Line(wallet, MAX_AMOUNT + 1), ledger.Line(issuance, -(MAX_AMOUNT + 1))]
        elif case == "empty_key":
            key = ""
        elif case == "long_key":
            key = "k" * 201
        elif case == "no_kind":
            kind = ""
        self._refused_without_trace(
            ledger.InvalidPosting,
            lambda s: ledger.post(
                s, lines=lines, idempotency_key=key, kind=kind, community_id=self.book.community_id
            ),
        )

    @rule(target=postings, wallet=st.integers(0, WALLETS - 1), amount=st.integers(1, 300))
    def refused_key_is_not_burned(self, wallet, amount):
        """A key whose posting was refused may be used again: nothing was written under it."""
        if not self.refused_keys:
            return multiple()
        key = self.refused_keys.pop()
        lines = [(self.book.wallets[wallet], amount), (self.book.issuance, -amount)]
        return self._post(lines, kind="award", key=key)

    # -- reversals -------------------------------------------------------------------------

    @rule(target=postings, original=postings)
    def reverse(self, original: Record):
        key = f"rev:{uuid.uuid4().hex}"

        def work(s):
            return ledger.reverse(s, transaction_id=original.transaction_id, idempotency_key=key, memo="撤销")

        if original.reverses_id is not None:
            self._refused_without_trace(ledger.NotReversible, work)
            return multiple()
        if original.transaction_id in self.reversal_of:
            error = self._refused_without_trace(ledger.AlreadyReversed, work)
            assert error.details["reversal_id"] == self.reversal_of[original.transaction_id]
            return multiple()
        opposite = tuple((account, -amount) for account, amount in original.lines)
        if not all(self.model[a] + m >= 0 for a, m in opposite if a in self._tracked):
            self._refused_without_trace(ledger.InsufficientBalance, work)
            return multiple()
        posted = ledger.run_in_transaction(self.factory, work)
        assert not posted.replayed
        for account, amount in opposite:
            self.model[account] += amount
        self.reversal_of[original.transaction_id] = posted.transaction_id
        # At once: a second reversal under another key, and a reversal of the reversal, are refused.
        error = self._refused_without_trace(
            ledger.AlreadyReversed,
            lambda s: ledger.reverse(
                s, transaction_id=original.transaction_id, idempotency_key=key + ":2", memo="再撤"
            ),
        )
        assert error.details["reversal_id"] == posted.transaction_id
        self._refused_without_trace(
            ledger.NotReversible,
            lambda s: ledger.reverse(
                s, transaction_id=posted.transaction_id, idempotency_key=key + ":3", memo="反撤"
            ),
        )
        return Record(
            posted.transaction_id, key, opposite, f"{original.kind}.reversal", "撤销", original.transaction_id
        )

    # -- idempotency -----------------------------------------------------------------------

    @rule(record=postings)
    def replay_returns_the_original(self, record: Record):
        before = footprint(self.factory)
        if record.reverses_id is not None:
            posted = ledger.run_in_transaction(
                self.factory,
                lambda s: ledger.reverse(
                    s, transaction_id=record.reverses_id, idempotency_key=record.key, memo=record.memo
                ),
            )
        else:
            posted = ledger.run_in_transaction(
                self.factory,
                lambda s: ledger.post(
                    s,
                    # the same payload in another order is the same request
                    lines=[ledger.Line(a, m) for a, m in reversed(record.lines)],
                    idempotency_key=record.key,
                    kind=record.kind,
                    community_id=self.book.community_id,
                    memo=record.memo,
                ),
            )
        assert (posted.transaction_id, posted.replayed, posted.balances) == (record.transaction_id, True, {})
        assert footprint(self.factory) == before

    @rule(record=postings, change=st.sampled_from(["memo", "amount", "kind"]))
    def same_key_other_payload_conflicts(self, record: Record, change):
        if record.reverses_id is not None:
            work = lambda s: ledger.reverse(  # noqa: E731
                s, transaction_id=record.reverses_id, idempotency_key=record.key, memo=record.memo + "!"
            )
        else:
            lines = [ledger.Line(a, m * (2 if change == "amount" else 1)) for a, m in record.lines]
            work = lambda s: ledger.post(  # noqa: E731
                s,
                lines=lines,
                idempotency_key=record.key,
                kind=record.kind + ("-other" if change == "kind" else ""),
                community_id=self.book.community_id,
                memo=record.memo + ("!" if change == "memo" else ""),
            )
        error = self._refused_without_trace(ledger.IdempotencyConflict, work)
        assert error.details["transaction_id"] == record.transaction_id

    # -- system account checkpoints ----------------------------------------------------------

    @rule()
    def checkpoint_system_accounts(self):
        ledger.run_in_transaction(self.factory, ledger.checkpoint_system_accounts)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def book_is_sound(self):
        assert unsound(self.factory) == {}

    @invariant()
    def balances_match_the_model(self):
        # The till is an untracked system account (like issuance): its balance is derived.
        accounts = [*self._tracked, self.book.issuance, self.book.hour_issuance, self.book.sink, self.book.till]
        with self.factory() as session:
            actual = {a: ledger.balance(session, a) for a in accounts}
        assert actual == {a: self.model[a] for a in accounts}
        assert all(actual[a] >= 0 for a in self._tracked)


def test_random_postings_keep_the_book_sound_and_match_the_model(fresh_url):
    machine = type("Machine", (LedgerMachine,), {"new_database": staticmethod(fresh_url)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
