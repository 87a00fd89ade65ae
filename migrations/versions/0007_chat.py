"""web chat: conversations and the live event log

Revision ID: 0007_chat
Revises: 0006_email
Create Date: 2026-11-25 09:00:00

Chat event ids are handed out by the "chat_event" counter row (see ChatEvent), not by a
sequence, so the column has no autoincrement.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_chat'
down_revision = '0006_email'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('chat_conversations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('visitor_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('host_user_id', sa.String(length=254), nullable=True),
    sa.Column('chosen_stage', sa.String(length=20), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_chat_conversations_endpoint_id_endpoints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_conversations'))
    )
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_conversations_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_conversations_visitor_id'), ['visitor_id'], unique=False)

    op.create_table('chat_events',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('conversation_id', sa.String(length=64), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_chat_events_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_events'))
    )
    with op.batch_alter_table('chat_events', schema=None) as batch_op:
        batch_op.create_index('ix_chat_events_conversation_id_id', ['conversation_id', 'id'], unique=False)
        batch_op.create_index('ix_chat_events_kind_id', ['kind', 'id'], unique=False)
        batch_op.create_index('ix_chat_events_ticket_id_id', ['ticket_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('chat_events', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_events_ticket_id_id')
        batch_op.drop_index('ix_chat_events_kind_id')
        batch_op.drop_index('ix_chat_events_conversation_id_id')

    op.drop_table('chat_events')
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_conversations_visitor_id'))
        batch_op.drop_index(batch_op.f('ix_chat_conversations_endpoint_id'))

    op.drop_table('chat_conversations')
