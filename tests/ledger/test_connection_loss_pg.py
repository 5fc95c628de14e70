"""A pooled connection that died (database restart, idle kill) costs a retry, never an error or a
double posting: the engine has no pre-ping, so ``retrying`` must recover."""

import psycopg
import pytest
from sqlalchemy import text

import ledger
from ledger import AccountType, Line, Unit

pytestmark = pytest.mark.postgres


def test_a_posting_on_a_dead_pooled_connection_is_retried_and_posts_once(pg_url):
    engine = ledger.make_engine(pg_url, pool_size=1, max_overflow=0)
    factory = ledger.make_session_factory(engine)

    def accounts(session):
        issuance = ledger.open_account(session, type=AccountType.ISSUANCE, unit=Unit.COIN, community_id=1, owner_id=1)
        wallet = ledger.open_account(session, type=AccountType.MEMBER_WALLET, unit=Unit.COIN, community_id=1, owner_id=2)
        backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
        return issuance.id, wallet.id, backend

    issuance, wallet, backend = ledger.run_in_transaction(factory, accounts)
    dbname = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={dbname}", autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [backend]).fetchone()[0] is True

    def award(session):
        return ledger.post(session, lines=[Line(wallet, 9), Line(issuance, -9)], idempotency_key="after-kill", kind="award", community_id=1)

    posted = ledger.run_in_transaction(factory, award)
    assert not posted.replayed
    with factory() as session:
        assert ledger.balance(session, wallet) == 9
        assert session.execute(text("SELECT count(*) FROM ledger_transactions")).scalar() == 1
    engine.dispose()
