"""tickets: PostgreSQL hands out ticket numbers from a sequence

Revision ID: 0010_ticket_numbers
Revises: 0009_chat_numbering
Create Date: 2026-11-25 12:50:00

Ticket numbers came from the "ticket" counter row, locked from the moment a ticket was opened
until its transaction committed: every new ticket in every process waited for the one before
it (a burst of new chats queued for seconds). On PostgreSQL a sequence now gives the numbers
without a lock; a rolled-back intake leaves a gap, which a ticket number may have. The sequence
belongs to tickets.number, so emptying the table with RESTART IDENTITY restarts it. SQLite
writes one transaction at a time anyway and keeps the counter.

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_ticket_numbers'
down_revision = '0009_chat_numbering'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE ticket_numbers OWNED BY tickets.number")
    # Go on from the highest number given so far (the counter, or a ticket loaded by hand).
    op.execute(
        """
        SELECT setval('ticket_numbers', GREATEST(
            (SELECT value FROM counters WHERE name = 'ticket'),
            (SELECT max(number) FROM tickets),
            0) + 1, false)
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        INSERT INTO counters (name, value)
        SELECT 'ticket', COALESCE((SELECT max(number) FROM tickets), 0)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value
        """
    )
    op.execute("DROP SEQUENCE ticket_numbers")
