"""Steps that span domains, in one place (as Dispatch keeps them in ``flows.py``).

A domain's operations only call the domains beneath it; when one business step has to touch a
domain above (a new community gets conduct's default indicators), the step lives here and the
API, the pages, the demo and the tests call it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .community.models import Community
from .community.operations import create_community
from .conduct.operations import seed_default_indicators


def open_community(session: Session, *, code: str, name: str, **settings) -> Community:
    """Create a community with its issuance and expiry accounts, and seed the field's default
    indicator categories and example indicators."""
    community = create_community(session, code=code, name=name, **settings)
    seed_default_indicators(session, community.id)
    return community
