"""Personal data: no unkeyed hash of a request, no national ID mask with more than the last four.

- ``idempotent_requests.request_hash`` was an unkeyed sha256 of the request body, which for a desk
  registration contains the national ID number: with the other columns of the row the number could
  be recovered offline. The old hashes are overwritten; a retry of such an old request now answers
  409 ``idempotency_conflict`` instead of replaying (it never posts twice). New hashes are keyed
  with ``GREENCOIN_PII_KEY`` (see ``service.idempotency.request_digest``).
- ``members.national_id_masked`` kept the first four and the last four characters
  (``5301**********1234``); it keeps only the last four now (``**************1234``).

Revision ID: 0008_personal_data
Revises: 0007_disputes
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_personal_data"
down_revision = "0007_disputes"
branch_labels = None
depends_on = None

SCRUBBED = "scrubbed:unkeyed-hash-removed-by-0008"


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE idempotent_requests SET request_hash = :scrubbed"), {"scrubbed": SCRUBBED})
    last_four = "substr(national_id_masked, -4)" if bind.dialect.name == "sqlite" else "right(national_id_masked, 4)"
    bind.execute(
        sa.text(
            f"UPDATE members SET national_id_masked = '**************' || {last_four} "
            "WHERE national_id_masked IS NOT NULL"
        )
    )


def downgrade() -> None:
    pass  # what was removed is not brought back
