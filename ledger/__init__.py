"""The double-entry book of Greencoin: pure domain, no Flask. See posting.py for the design."""

from . import merkle  # noqa: F401,E402  (registers the Merkle block table)
from .accounts import (
    StatementLine,
    StatementPage,
    account_code,
    balance,
    checkpoint_system_accounts,
    get_account,
    open_account,
    statement,
)
from .chain import head as chain_head
from .chain import seal
from .db import make_engine, make_session_factory, retrying, run_in_transaction
from .errors import (
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidPosting,
    LedgerError,
    NotReversible,
    RetryableConflict,
    TransactionNotFound,
    UnknownAccount,
)
from .models import Account, AccountType, Base, Entry, Transaction, Unit, UTCDateTime, utcnow
from .posting import Line, Posted, lock_accounts, post, posting_time, reverse

__all__ = [
    "Account", "AccountType", "AlreadyReversed", "Base", "Entry", "IdempotencyConflict",
    "InsufficientBalance", "InvalidPosting", "LedgerError", "Line", "NotReversible", "Posted",
    "RetryableConflict", "StatementLine", "StatementPage", "Transaction", "TransactionNotFound",
    "UTCDateTime", "Unit", "UnknownAccount", "account_code", "balance", "chain_head",
    "checkpoint_system_accounts", "get_account", "lock_accounts", "make_engine",
    "make_session_factory", "open_account", "post", "posting_time", "retrying", "reverse", "run_in_transaction", "seal",
    "statement", "utcnow",
]
