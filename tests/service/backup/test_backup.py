"""A backup can be checked from the file alone, and any edit of a ledger row in it is found."""

import io
import json

import ledger
from service.backup.operations import export_backup, verify_backup
from service.extensions import db


def _backup(app, world) -> str:
    community = world.community()
    admin = world.admin(community)
    member = world.member(community)
    assert admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "COIN", "amount": 40, "reason": "迁移"}).status_code == 201
    assert admin.post("/api/v1/adjustments", {"member_id": member.id, "unit": "HOUR", "amount": 90, "reason": "补录"}).status_code == 201
    with app.app_context():
        db.run(ledger.seal)
        out = io.StringIO()
        export_backup(db.session, out)
    return out.getvalue()


def _edit(text: str, table: str, change, where=lambda row: True) -> str:
    """The backup with ``change`` applied to the first row of ``table`` that ``where`` accepts
    (``change`` returning "drop" removes the row)."""
    lines = text.splitlines()
    for n, line in enumerate(lines[1:], start=1):
        record = json.loads(line)
        if record["t"] == table and where(record["r"]):
            if change(record["r"]) == "drop":
                del lines[n]
            else:
                lines[n] = json.dumps(record, ensure_ascii=False)
            break
    return "\n".join(lines) + "\n"


def test_an_exported_backup_verifies_from_the_file_alone(app, world):
    text = _backup(app, world)
    header, found = verify_backup(io.StringIO(text))
    assert found == []
    assert header["counts"]["ledger_transactions"] == 2 and header["chain_head"]["seq"] == 2


def test_any_edit_of_a_ledger_row_in_a_backup_is_found(app, world):
    text = _backup(app, world)
    edits = [
        ("ledger_entries", lambda r: r.update(amount=r["amount"] + 1), "transaction_sum"),
        ("ledger_transactions", lambda r: r.update(memo="改过"), "content_hash"),
        ("ledger_accounts", lambda r: r.update(balance=r["balance"] + 5), "stored_balance"),
        ("ledger_chain_links", lambda r: r.update(chain_hash="0" * 64), "chain_hash"),
        ("ledger_entries", lambda r: "drop", "row_count"),
    ]
    for table, change, check in edits:
        tampered = _edit(text, table, change, where=lambda r: r.get("track_balance", True))
        _header, found = verify_backup(io.StringIO(tampered))
        assert check in {d.check for d in found}, f"{table}: expected {check}, found {found}"
