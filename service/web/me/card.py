"""The resident's member card: the card code as a QR code to show at the counter."""

from __future__ import annotations

import segno
from flask import render_template

from ...auth.access import access
from ...auth.models import Role
from ...community.operations import get_community
from ...extensions import db
from ...members.operations import get_member
from ..core import bp, principal


def qr_svg(card_code: str) -> str:
    """The member card's QR code as inline SVG (segno; no images, no JavaScript)."""
    return segno.make(card_code, error="m").svg_inline(scale=8, border=2)


@bp.get("/me/card")
@access(Role.RESIDENT)
def resident_card():
    member = get_member(db.session, principal().member_id)
    return render_template(
        "resident/card.html",
        member=member,
        community=get_community(db.session, member.community_id),
        qr=qr_svg(member.card_code),
    )
