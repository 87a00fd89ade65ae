"""agent queue: filter and sort indexes, word search index

Revision ID: 0002_queue
Revises: 0001
Create Date: 2026-11-25 08:50:00

The word index (helpdesk/tickets/search.py) is the database's own full-text engine, so it is
created here per dialect and lives outside the models:

- SQLite: an FTS5 table ``ticket_search`` (rowid = ticket id) without positions (no phrase
  queries are needed), and a trigger that deletes a ticket's row with the ticket. Beware: a
  later batch migration that recreates ``tickets`` on SQLite drops that trigger; recreate it.
- PostgreSQL: a table ``ticket_search`` (ticket_id, words tsvector) with a GIN index; the
  foreign key cascades deletes.

Rows for tickets that exist already are built here from their subjects and messages.
"""

from alembic import op
import sqlalchemy as sa

from helpdesk.tickets import search

# revision identifiers, used by Alembic.
revision = "0002_queue"
down_revision = "0001"
branch_labels = None
depends_on = None

_NEW_INDEXES = {
    "ix_tickets_stage_created_at": ["stage", "created_at"],
    "ix_tickets_channel_created_at": ["channel", "created_at"],
    "ix_tickets_priority_created_at": ["priority", "created_at"],
    "ix_tickets_assignee_id_created_at": ["assignee_id", "created_at"],
    "ix_tickets_last_customer_message_at": ["last_customer_message_at"],
    "ix_tickets_status_last_customer_message_at": ["status", "last_customer_message_at"],
    "ix_tickets_status_stage_channel": ["status", "stage", "channel"],
    "ix_tickets_status_priority_assignee_id": ["status", "priority", "assignee_id"],
}
# Each is the first column of one of the new composite indexes, so it would only cost writes.
_REPLACED_INDEXES = {"ix_tickets_stage": ["stage"], "ix_tickets_assignee_id": ["assignee_id"]}


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in _REPLACED_INDEXES:
            batch_op.drop_index(name)
        for name, columns in _NEW_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE ticket_search ("
            " ticket_id INTEGER NOT NULL,"
            " words TSVECTOR NOT NULL,"
            " CONSTRAINT pk_ticket_search PRIMARY KEY (ticket_id),"
            " CONSTRAINT fk_ticket_search_ticket_id_tickets FOREIGN KEY (ticket_id)"
            " REFERENCES tickets (id) ON DELETE CASCADE)"
        )
        op.execute("CREATE INDEX ix_ticket_search_words ON ticket_search USING gin (words)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE ticket_search USING fts5("
            "words, detail=none, tokenize='unicode61 remove_diacritics 0')"
        )
        op.execute(
            "CREATE TRIGGER ticket_search_forget_ticket AFTER DELETE ON tickets "
            "BEGIN DELETE FROM ticket_search WHERE rowid = old.id; END"
        )
    _index_existing_tickets(op.get_bind())


def _index_existing_tickets(connection):
    found = {}
    for ticket_id, subject in connection.execute(sa.text("SELECT id, subject FROM tickets")):
        found.setdefault(ticket_id, []).extend(search.words(subject))
    messages = connection.execute(sa.text("SELECT ticket_id, text FROM messages ORDER BY id"))
    for ticket_id, text in messages:
        found.setdefault(ticket_id, []).extend(search.words(text))
    found = {key: list(dict.fromkeys(value)) for key, value in found.items() if value}
    if found:
        search.add_words(connection, found)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE ticket_search")
    else:
        op.execute("DROP TRIGGER ticket_search_forget_ticket")
        op.execute("DROP TABLE ticket_search")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in _NEW_INDEXES:
            batch_op.drop_index(name)
        for name, columns in _REPLACED_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
