"""The office's audit log page: who changed what, when, before → after (administrators and
supervisors of the community; newest first, a page at a time)."""

from __future__ import annotations

from flask import request

from ...audit.operations import list_events
from ...auth.access import access
from ...auth.operations import actor_names
from ...extensions import db
from ..core import bp
from . import OFFICE, office_page, page_community


@bp.get("/office/audit")
@access(*OFFICE)
def office_audit():
    community = page_community()
    action = request.args.get("action", "").strip()[:64] or None
    events, cursor = list_events(
        db.session, community_id=community.id, action=action, before=request.args.get("before", type=int), limit=50
    )
    return office_page(
        "admin/audit.html", community=community, events=events, names=actor_names(db.session, events),
        next_cursor=cursor, action=action or "",
    )
