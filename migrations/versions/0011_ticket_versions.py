"""tickets: a version that every committed change moves up by one

Revision ID: 0011_ticket_versions
Revises: 0010_ticket_numbers
Create Date: 2026-12-06 20:30:00

The ticket page and the API's ETag / If-Match compare it to tell a stale writer from a current
one (helpdesk/tickets/versions.py keeps it). Existing tickets start at 1.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_ticket_versions'
down_revision = '0010_ticket_numbers'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    # In place (SQLite 3.35+ drops a column itself): rebuilding tickets would trip the foreign
    # keys of every message and event that refers to it.
    with op.batch_alter_table('tickets', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('version')
