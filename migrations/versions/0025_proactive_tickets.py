"""tickets: proactive marks a conversation the business started (outreach), apart from requests

Revision ID: 0025_proactive_tickets
Revises: 0024_customer_list
Create Date: 2026-12-07 02:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025_proactive_tickets"
down_revision = "0024_customer_list"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("proactive", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("tickets", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("proactive")
