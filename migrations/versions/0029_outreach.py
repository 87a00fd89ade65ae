"""outreach: campaigns, and email addresses unsubscribed from outreach

Revision ID: 0029_outreach
Revises: 0028_customer_records
Create Date: 2026-12-07 03:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029_outreach"
down_revision = "0028_customer_records"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outreach_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=11), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("opted_out", sa.Integer(), nullable=False),
        sa.Column("unsubscribed", sa.Integer(), nullable=False),
        sa.Column("no_identity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_outreach_campaigns_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_outreach_campaigns_endpoint_id_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_campaigns")),
    )
    # In place: rebuilding customer_identities would trip the references to it.
    with op.batch_alter_table("customer_identities", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("outreach_unsubscribed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("customer_identities", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("outreach_unsubscribed_at")
    op.drop_table("outreach_campaigns")
