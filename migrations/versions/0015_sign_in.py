"""sign-in: per-account lockout, browser sessions apart from API tokens, one-time passwords

- ``sign_in_guards`` counts failed sign-ins per account in the database (every web process sees
  them), with the time a locked account may try again.
- ``api_tokens.kind``: ``api`` (a bearer token) or ``web`` (a browser session whose id is in the
  cookie); each authenticates only its own side. Existing rows were all API tokens or browser
  sessions that held an API token: the browser ones are not told apart, so every existing row
  stays ``api`` and browsers sign in again (the cookie key changed).
- ``staff.must_change_password``: set by an administrator's password reset.

Revision ID: 0015_sign_in
Revises: 0014_product_barcode
"""

import sqlalchemy as sa
from alembic import op

import ledger.models  # noqa: F401  (UTCDateTime and BigId render through it)

revision = "0015_sign_in"
down_revision = "0014_product_barcode"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_guards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_guards")),
        sa.UniqueConstraint("account_key", name=op.f("uq_sign_in_guards_account_key")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="api", nullable=False))
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("kind")
    op.drop_table("sign_in_guards")
