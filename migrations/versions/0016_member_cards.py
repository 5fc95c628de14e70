"""Member cards and departures: card codes in the one normalised form, deactivation recorded.

Card codes are matched in one normalised form (``service.members.cards.normalise_card_code``:
no spaces or dashes, upper case, O as 0, I and L as 1). Codes issued before (url-safe base64 or the
demo's hex) are rewritten to that form here, so an old printed card, typed as printed in any case,
still finds its resident; a collision (none expected: 16 characters of 96 random bits) stops the
migration loudly instead of merging two residents' cards.

Revision ID: 0016_member_cards
Revises: 0015_sign_in
"""

import sqlalchemy as sa
from alembic import op

import ledger.models

revision = "0016_member_cards"
down_revision = "0015_sign_in"
branch_labels = None
depends_on = None

_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _normalise(raw: str) -> str:
    # The same rule as service.members.cards.normalise_card_code, frozen as of this migration.
    return "".join((raw or "").split()).replace("-", "").upper().translate(_CONFUSABLE)


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("deactivated_at", ledger.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deactivation_reason", sa.String(length=500), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, card_code FROM members ORDER BY id")).all()
    seen: dict[str, int] = {}
    changes = []
    for member_id, code in rows:
        new = _normalise(code)
        if new in seen:
            raise RuntimeError(f"card codes of members {seen[new]} and {member_id} normalise alike; fix one first")
        seen[new] = member_id
        if new != code:
            changes.append({"id": member_id, "code": new})
    # Two passes through a placeholder, so no intermediate state breaks the unique constraint.
    update = sa.text("UPDATE members SET card_code = :code WHERE id = :id")
    if changes:
        bind.execute(update, [{"id": c["id"], "code": f"~{c['id']}"} for c in changes])
        bind.execute(update, changes)


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("deactivation_reason")
        batch.drop_column("deactivated_at")
