"""Residents' accounts as sign-in reads them, without auth importing the members domain.

Members sit above auth (they act as a ``Principal`` and hash PINs with ``hash_secret``), yet signing a
resident in and resolving a resident's token read the member's row. So the members domain registers
its table here when its models are imported (every app and the migrations import all models), and
auth reads only the columns named below; ``access.principal_for_token`` still joins it in its one query.
"""

from __future__ import annotations

from typing import Any

# The columns auth reads: id, community_id, name, active (every token look-up), pin_hash, card_code
# and phone (sign-in).
_accounts: list[Any] = []


def register_resident_accounts(model: Any) -> None:
    """Called once by ``service.members.models`` with its ``Member`` class."""
    _accounts[:] = [model]


def resident_accounts() -> Any:
    """The registered class of residents' accounts (``service.members.models.Member``)."""
    if not _accounts:
        raise RuntimeError("no resident accounts registered: import service.members.models first")
    return _accounts[0]
