"""word index: its list of words on PostgreSQL, for spelling out a prefix

Revision ID: 0040_search_terms
Revises: 0039_stage_rollups
Create Date: 2026-12-07 11:30:00

A prefix (``refun*``) asked of the GIN index as a prefix gathers every match of every word it
stands for before it can narrow them, and the queue asks it once per status count. Asked as the
words it stands for, the index narrows them by status as it reads them. The words are listed in
``ticket_search_terms`` (SQLite's ``fts5vocab`` table of the same name, migration 0038), byte
ordered so that a prefix is one range of it; every word of the index is listed (twice, should
two transactions list it at once), and a word may stay listed after its last ticket is gone (see helpdesk/tickets/search.py, ``prefix_words``).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0040_search_terms"
down_revision = "0039_stage_rollups"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # No unique key: transactions that list the same new word at once would wait for each
    # other's commit on it (every intake lists words); a word may be listed twice instead.
    op.execute('CREATE TABLE ticket_search_terms (term text COLLATE "C" NOT NULL)')
    op.execute("CREATE INDEX ix_ticket_search_terms_term ON ticket_search_terms (term)")
    op.execute(
        "INSERT INTO ticket_search_terms (term) "
        "SELECT DISTINCT unnest(tsvector_to_array(words)) FROM ticket_search"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE ticket_search_terms")
