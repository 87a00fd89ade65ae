"""word index: each ticket's stage, channel, priority, assignee and team as words of its row

Revision ID: 0042_property_words
Revises: 0041_journey_rollups
Create Date: 2026-12-07 14:10:00

Like the status word (0038), each of these properties is held as one more word no text can
produce: a private-use mark of its own before the value ("none" for no assignee or team). A
word search narrowed by them ("refund" in the purchase stage, among one agent's tickets) is
then counted from the index alone, instead of each match's ticket being read to check them (see
helpdesk/tickets/search.py, ``property_word``).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0042_property_words"
down_revision = "0041_journey_rollups"
branch_labels = None
depends_on = None

# Each property's mark; helpdesk/tickets/search.py keeps the same ones (status is 0038's).
_MARKS = {
    "stage": "\ue001",
    "channel": "\ue002",
    "priority": "\ue003",
    "assignee_id": "\ue004",
    "team_id": "\ue005",
}


def _words_of_ticket(separator: str) -> str:
    """SQL for a ticket row's property words, joined by ``separator``."""
    parts = [f"'{mark}' || coalesce(CAST({name} AS TEXT), 'none')" for name, mark in _MARKS.items()]
    return f" || '{separator}' || ".join(parts)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Every row changes: building the GIN index afresh afterwards is quicker than keeping it
        # up to date row by row, and leaves it as compact as a new one.
        op.execute("DROP INDEX ix_ticket_search_words")
        op.execute(
            "UPDATE ticket_search SET words = ticket_search.words || "
            f"array_to_tsvector(string_to_array({_words_of_ticket(' ')}, ' ')) "
            "FROM tickets WHERE tickets.id = ticket_search.ticket_id"
        )
        op.execute("CREATE INDEX ix_ticket_search_words ON ticket_search USING gin (words)")
        return
    op.execute(
        "UPDATE ticket_search SET words = words || "
        f"(SELECT ' ' || {_words_of_ticket(' ')} FROM tickets "
        "WHERE tickets.id = ticket_search.rowid) "
        "WHERE rowid IN (SELECT id FROM tickets)"
    )
    op.execute("INSERT INTO ticket_search (ticket_search) VALUES ('optimize')")


def downgrade():
    marks = list(_MARKS.values())
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            sa.text(
                "UPDATE ticket_search SET words = ts_delete(words, ARRAY("
                "SELECT word FROM unnest(tsvector_to_array(words)) AS word "
                "WHERE left(word, 1) = ANY(:marks)))"
            ).bindparams(marks=marks)
        )
        return
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT rowid, words FROM ticket_search")).all()
    for ticket_id, words in rows:
        kept = " ".join(word for word in words.split() if word[0] not in marks)
        if kept != words:
            connection.execute(
                sa.text("UPDATE ticket_search SET words = :words WHERE rowid = :id"),
                {"id": ticket_id, "words": kept},
            )
