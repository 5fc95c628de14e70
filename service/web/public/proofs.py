"""Checking a statement without trusting us: the public verification page (the browser does all the
work with WebCrypto) and the resident's download of their provable statement."""

from __future__ import annotations

import json

from flask import Response, render_template
from flask_babel import gettext as _

from ...auth.access import access, public
from ...auth.models import Role
from ...bookkeeping.proofs import merkle_head, statement_document
from ...extensions import db
from ...members.operations import get_member
from ..core import bp, principal


def verify_words() -> dict:
    """The verifier script's sentences, in the reader's language."""
    return {
        "format": _("This is not a Greencoin statement file."),
        "input": _("Choose the statement file and type the 64-character head."),
        "blockOrder": _("Blocks out of order at block"),
        "blockHash": _("A block's hash does not match its root: block"),
        "head": _("The blocks do not lead to the head you typed."),
        "line": _("Line"),
        "notJson": _("its content is damaged"),
        "amount": _("the amount is not the one in the books"),
        "date": _("the date is not the one in the books"),
        "notInBooks": _("not in the sealed books"),
        "missing": _("A line is missing before version"),
        "failed": _("Verification FAILED: this statement does not match the books."),
        "ok": _("Verified: %(proven)s of %(total)s lines are in the sealed books that lead to this head."),
    }


@bp.get("/verify-statement")
@public
def verify_statement_page():
    """Anyone checks a downloaded statement against a published head, in their own browser."""
    return render_template("verify_statement.html", words=verify_words(), head=merkle_head(db.session))


@bp.get("/me/proof")
@access(Role.RESIDENT)
def resident_proof():
    """The resident's provable statement: the head it leads to and the download."""
    return render_template("resident/proof.html", head=merkle_head(db.session))


@bp.get("/me/statement-proof.json")
@access(Role.RESIDENT)
def resident_proof_download():
    member = get_member(db.session, principal().member_id)
    document = statement_document(db.session, member)
    body = json.dumps(document, ensure_ascii=False, indent=1, default=str)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=greencoin-statement.json"})
