"""Back-dated postings for history that happened before it reached the ledger (demo, migration)."""

import datetime as dt

import pytest

import ledger
from ledger import AccountType, Line, Unit
from ledger.verify import verify_all


def test_postings_inside_posting_time_carry_that_time_and_still_verify(session):
    issuance = ledger.open_account(session, type=AccountType.ISSUANCE, unit=Unit.COIN, community_id=1, owner_id=1)
    wallet = ledger.open_account(session, type=AccountType.MEMBER_WALLET, unit=Unit.COIN, community_id=1, owner_id=5)
    then = dt.datetime(2025, 3, 1, 4, 0, tzinfo=dt.UTC)
    with ledger.posting_time(then):
        old = ledger.post(session, lines=[Line(wallet.id, 5), Line(issuance.id, -5)], idempotency_key="old", kind="opening_balance", community_id=1)
    new = ledger.post(session, lines=[Line(wallet.id, 1), Line(issuance.id, -1)], idempotency_key="new", kind="award", community_id=1)
    session.commit()

    assert session.get(ledger.Transaction, old.transaction_id).created_at == then
    assert session.get(ledger.Transaction, new.transaction_id).created_at > then + dt.timedelta(days=365)
    ledger.seal(session)
    session.commit()
    assert not any(verify_all(session).values())


def test_posting_time_refuses_a_naive_moment():
    with pytest.raises(ValueError), ledger.posting_time(dt.datetime(2025, 3, 1)):
        pass
