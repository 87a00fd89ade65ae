"""suppressions: an erased customer's STOP and unsubscribe outlive them, as keyed hashes

Revision ID: 0031_suppressions
Revises: 0030_nps_surveys
Create Date: 2026-12-07 03:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0031_suppressions"
down_revision = "0030_nps_surveys"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=9), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outreach_unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("kind", "value_hash", name=op.f("uq_suppressions_kind_value_hash")),
    )


def downgrade():
    op.drop_table("suppressions")
