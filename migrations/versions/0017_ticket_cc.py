"""tickets and messages: the people in Cc of an email conversation

Revision ID: 0017_ticket_cc
Revises: 0016_macros
Create Date: 2026-12-06 21:55:00

A customer's mail to us and to colleagues of theirs keeps those colleagues on the ticket; our
replies copy them (each outbound message keeps whom it copied, for the worker and the record).

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0017_ticket_cc"
down_revision = "0016_macros"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("tickets", "messages"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("cc", sa.JSON(), server_default="[]", nullable=False))


def downgrade():
    # In place (SQLite 3.35+ drops a column itself): rebuilding either table would trip the
    # foreign keys of the rows that refer to it.
    for table in ("messages", "tickets"):
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.drop_column("cc")
