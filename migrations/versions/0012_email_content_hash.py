"""messages: inbound email is known by its content hash, not its Message-ID alone

Revision ID: 0012_email_content_hash
Revises: 0011_ticket_versions
Create Date: 2026-11-26 10:00:00

Some mailers and lists reuse a Message-ID for different mail; deduplicating on it dropped such
mail. Copies of one mail (fetched twice, or from two mailboxes) share the hash of their From,
Date, Subject and body, unique among messages. Mail stored before has no hash and is still
known by its Message-ID.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_email_content_hash'
down_revision = '0011_ticket_versions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_messages_content_hash'), ['content_hash'], unique=True)


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_content_hash'))
        batch_op.drop_column('content_hash')
