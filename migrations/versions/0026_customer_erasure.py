"""customers: erased_at marks a customer whose personal data an admin erased

Revision ID: 0026_customer_erasure
Revises: 0025_proactive_tickets
Create Date: 2026-12-07 02:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026_customer_erasure"
down_revision = "0025_proactive_tickets"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customers", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("customers", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("erased_at")
