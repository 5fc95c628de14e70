"""Community settings for the office: fraud-alert thresholds, the disclosure's objection contact, the
certificate's issuer and person in charge; a fraud alert can be dismissed with a reason.

Revision ID: 0011_office_settings
Revises: 0010_office_jobs
"""

import sqlalchemy as sa
from alembic import op

import ledger.models

revision = "0011_office_settings"
down_revision = "0010_office_jobs"
branch_labels = None
depends_on = None

INTEGER_SETTINGS = (
    ("fraud_frequent_credits", "8"),
    ("fraud_frequent_window_days", "30"),
    ("fraud_long_record_minutes", "720"),
    ("fraud_day_total_minutes", "960"),
)
TEXT_SETTINGS = (("objection_contact", 200), ("certificate_issuer", 200), ("person_in_charge", 100))


def upgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        for name, default in INTEGER_SETTINGS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default=default, nullable=False))
        for name, length in TEXT_SETTINGS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), server_default="", nullable=False))
    with op.batch_alter_table("fraud_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dismissed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.add_column(sa.Column("dismissed_at", ledger.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dismissal_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_fraud_alerts_dismissed_by_staff"), "staff", ["dismissed_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("fraud_alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_fraud_alerts_dismissed_by_staff"), type_="foreignkey")
        batch_op.drop_column("dismissal_reason")
        batch_op.drop_column("dismissed_at")
        batch_op.drop_column("dismissed_by")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        for name, _length in reversed(TEXT_SETTINGS):
            batch_op.drop_column(name)
        for name, _default in reversed(INTEGER_SETTINGS):
            batch_op.drop_column(name)
