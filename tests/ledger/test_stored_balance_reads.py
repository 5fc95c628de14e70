"""Balance reads after a posting in the same, long-lived session (expire_on_commit=False)."""

import ledger
from ledger import AccountType, Line, Unit


def test_a_loaded_account_and_balance_reads_see_the_posting_made_in_the_same_session(session):
    issuance = ledger.open_account(session, type=AccountType.ISSUANCE, unit=Unit.COIN, community_id=1, owner_id=1)
    wallet = ledger.open_account(session, type=AccountType.MEMBER_WALLET, unit=Unit.COIN, community_id=1, owner_id=9)
    session.commit()
    assert wallet.balance == 0

    ledger.post(session, lines=[Line(wallet.id, 70), Line(issuance.id, -70)], idempotency_key="k1", kind="award", community_id=1)
    session.commit()

    assert wallet.balance == 70 and wallet.version == 1
    assert ledger.balance(session, wallet.id) == 70
    assert ledger.balance(session, issuance.id) == -70


def test_balance_reads_see_postings_committed_by_another_session(session_factory):
    with session_factory() as reader:
        issuance = ledger.open_account(reader, type=AccountType.ISSUANCE, unit=Unit.COIN, community_id=1, owner_id=1)
        wallet = ledger.open_account(reader, type=AccountType.MEMBER_WALLET, unit=Unit.COIN, community_id=1, owner_id=9)
        reader.commit()
        ledger.run_in_transaction(
            session_factory,
            lambda s: ledger.post(
                s, lines=[Line(wallet.id, 30), Line(issuance.id, -30)], idempotency_key="k2", kind="award", community_id=1
            ),
        )
        assert ledger.balance(reader, wallet.id) == 30
        reader.commit()
