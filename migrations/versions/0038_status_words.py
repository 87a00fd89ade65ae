"""word index: each ticket's status as one more word of its row; its list of words on SQLite

Revision ID: 0038_status_words
Revises: 0037_message_outsiders
Create Date: 2026-12-07 08:30:00

The queue counts word matches per status, up to 1,000 each; with the status in the index, the
index itself answers "refund among open tickets" instead of every match being read (see
helpdesk/tickets/search.py, ``status_word``). Every ticket gets its status word here, tickets
without any text a row holding only that word. On SQLite an ``fts5vocab`` table lists the
index's words, so a prefix can be asked as the words it stands for.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0038_status_words"
down_revision = "0037_message_outsiders"
branch_labels = None
depends_on = None

# The mark before a status's name; helpdesk/tickets/search.py keeps the same one.
_MARK = "\ue000"
_STATUSES = ("new", "open", "pending", "solved", "closed")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO ticket_search (ticket_id, words) "
            f"SELECT id, array_to_tsvector(ARRAY['{_MARK}' || status]) FROM tickets "
            "ON CONFLICT (ticket_id) DO UPDATE "
            "SET words = ticket_search.words || excluded.words"
        )
        return
    op.execute(
        f"UPDATE ticket_search SET words = words || ' {_MARK}' || "
        "(SELECT status FROM tickets WHERE tickets.id = ticket_search.rowid)"
    )
    op.execute(
        f"INSERT INTO ticket_search (rowid, words) SELECT id, '{_MARK}' || status FROM tickets "
        "WHERE id NOT IN (SELECT rowid FROM ticket_search)"
    )
    op.execute("INSERT INTO ticket_search (ticket_search) VALUES ('optimize')")
    # The index's words, for spelling out a prefix (helpdesk/tickets/search.py, prefix_words).
    op.execute("CREATE VIRTUAL TABLE ticket_search_terms USING fts5vocab(ticket_search, 'row')")


def downgrade():
    marks = [f"{_MARK}{status}" for status in _STATUSES]
    if op.get_bind().dialect.name == "postgresql":
        array = ", ".join(f"'{mark}'" for mark in marks)
        op.execute(f"UPDATE ticket_search SET words = ts_delete(words, ARRAY[{array}])")
        op.execute("DELETE FROM ticket_search WHERE length(words) = 0")
        return
    op.execute("DROP TABLE ticket_search_terms")
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT rowid, words FROM ticket_search")).all()
    for ticket_id, words in rows:
        kept = " ".join(word for word in words.split() if word not in marks)
        if kept:
            statement = "UPDATE ticket_search SET words = :words WHERE rowid = :id"
        else:
            statement = "DELETE FROM ticket_search WHERE rowid = :id"
        if kept != words:
            connection.execute(sa.text(statement), {"id": ticket_id, "words": kept})
