"""messages: mail threaded onto a ticket by Message-ID from someone not on it

Revision ID: 0037_message_outsiders
Revises: 0036_stage_models
Create Date: 2026-12-07 09:00:00

A reply naming a ticket's Message-ID from someone who is neither its customer, a Cc nor an
agent is kept on the ticket but marked, so the ticket page shows who wrote it and replies never
go to them in the customer's place.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0037_message_outsiders"
down_revision = "0036_stage_models"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("from_outsider", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("from_outsider")
