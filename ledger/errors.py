"""Errors the ledger raises. Each carries a stable machine ``code`` and ``details`` for callers."""


class LedgerError(Exception):
    code = "ledger_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidPosting(LedgerError):
    """The posting itself is malformed: refused before anything is written."""

    code = "invalid_posting"


class UnknownAccount(InvalidPosting):
    code = "unknown_account"


class InsufficientBalance(LedgerError):
    """A wallet that may not go negative does not hold enough."""

    code = "insufficient_balance"


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before with a different payload."""

    code = "idempotency_conflict"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


class NotReversible(LedgerError):
    code = "not_reversible"


class TransactionNotFound(LedgerError):
    code = "transaction_not_found"


class RetryableConflict(LedgerError):
    """A concurrent writer won a race; re-running the unit of work gives the right answer."""

    code = "retryable_conflict"
