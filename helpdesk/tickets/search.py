"""Word search over tickets: one word index per ticket (its subject and every message's text).

Text is split into words here, in Python, so SQLite and PostgreSQL see exactly the same words:
a word is a run of letters and digits (anything else separates words), compared after Unicode
NFKC normalisation and case folding; accents are kept ("café" is not "cafe"). A query matches a
ticket when every query word is a whole word of the ticket: ``refund`` does not find "refunds"
(prefix queries cost the index several times more; see bench/agent_queue.py), and punctuation in a
query only separates words, so ``ada@example.com`` looks for "ada", "example" and "com".

The index lives outside the models because its storage is the database's own full-text engine:
an FTS5 table on SQLite and a ``tsvector`` column with a GIN index on PostgreSQL (migration
0002 creates them; ``include_in_autogenerate`` keeps them out of model/migration comparisons).
A flush listener adds the words of every new message and ticket subject, so no write path can
forget the index; deleting a ticket deletes its row (a trigger on SQLite, a cascading foreign
key on PostgreSQL).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    bindparam,
    column,
    event,
    literal_column,
    select,
    table,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, TSVECTOR
from sqlalchemy.orm import Session, attributes
from sqlalchemy.types import Text

from helpdesk.models import Direction, Message, Ticket

SEARCH_TABLE = "ticket_search"
# Longer "words" are hashes, tokens or base64 leftovers; cut so one cannot bloat the index.
MAX_WORD_LENGTH = 40
# Ticket ids per lookup, well under SQLite's limit on bound parameters.
_SQLITE_CHUNK = 500

_WORD = re.compile(r"[^\W_]+")
_sqlite_index = table(SEARCH_TABLE, column("rowid", Integer), column("words", Text))
_postgres_index = table(SEARCH_TABLE, column("ticket_id", Integer), column("words", TSVECTOR))


def words(text: str | None) -> list[str]:
    """The distinct words of a text, in order of first appearance, as the index stores them."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return list(dict.fromkeys(word[:MAX_WORD_LENGTH] for word in _WORD.findall(folded)))


def tickets_matching(query: str, dialect: str) -> ColumnElement[bool] | None:
    """The condition 'every word of ``query`` is a word of the ticket'; None without words."""
    wanted = words(query)
    if not wanted:
        return None
    if dialect == "postgresql":
        # Lexemes quoted and cast, not parsed by to_tsquery: the words are already normalised.
        tsquery = " & ".join(f"'{word}'" for word in wanted)
        matching = select(_postgres_index.c.ticket_id).where(
            _postgres_index.c.words.op("@@")(bindparam("search_query", tsquery, TSQUERY))
        )
    else:
        fts_query = " ".join(f'"{word}"' for word in wanted)
        # detail=none tables take queries on the whole table, not on a column.
        matching = select(_sqlite_index.c.rowid).where(
            literal_column(SEARCH_TABLE).op("MATCH")(bindparam("search_query", fts_query))
        )
    return Ticket.id.in_(matching)


def add_words(connection: Connection, found: dict[int, list[str]]) -> None:
    """Add words to the index rows of these tickets (creating rows as needed)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            sql(
                f"INSERT INTO {SEARCH_TABLE} (ticket_id, words) "
                "VALUES (:ticket_id, array_to_tsvector(:words)) "
                "ON CONFLICT (ticket_id) DO UPDATE "
                f"SET words = {SEARCH_TABLE}.words || excluded.words"
            ).bindparams(bindparam("words", type_=ARRAY(Text))),
            [{"ticket_id": ticket_id, "words": new} for ticket_id, new in found.items()],
        )
        return
    # SQLite: read the rows of all these tickets at once, then write the new and the grown.
    stored: dict[int, str] = {}
    ids = list(found)
    for start in range(0, len(ids), _SQLITE_CHUNK):
        rows = connection.execute(
            select(_sqlite_index.c.rowid, _sqlite_index.c.words).where(
                _sqlite_index.c.rowid.in_(ids[start : start + _SQLITE_CHUNK])
            )
        )
        stored.update({ticket_id: text for ticket_id, text in rows})
    created, grown = [], []
    for ticket_id, new in found.items():
        if ticket_id not in stored:
            created.append({"id": ticket_id, "words": " ".join(new)})
            continue
        merged = list(dict.fromkeys([*stored[ticket_id].split(), *new]))
        if len(merged) > len(stored[ticket_id].split()):
            grown.append({"id": ticket_id, "words": " ".join(merged)})
    if created:
        connection.execute(
            sql(f"INSERT INTO {SEARCH_TABLE} (rowid, words) VALUES (:id, :words)"), created
        )
    if grown:
        connection.execute(
            sql(f"UPDATE {SEARCH_TABLE} SET words = :words WHERE rowid = :id"), grown
        )


def include_in_autogenerate(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic's ``include_name`` hook: the search tables are no model's, so never compare them."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE))


def _collect(objects: Iterable[object], found: defaultdict[int, list[str]]) -> None:
    for obj in objects:
        if isinstance(obj, Message):
            # Our own automatic messages (the survey question) are the same words on every
            # ticket; indexed, they would make a search for "help" match every solved one.
            if obj.auto_submitted and obj.direction == Direction.OUTBOUND:
                continue
            found[obj.ticket_id].extend(words(obj.text))
        elif isinstance(obj, Ticket):
            found[obj.id].extend(words(obj.subject))


def index_moved(connection: Connection, messages: Iterable[Message]) -> None:
    """Add the words of flushed messages that moved to another ticket (a merge, a split) to
    their ticket's row; the row they left keeps its words."""
    _index(connection, messages)


def _index(connection: Connection, objects: Iterable[object]) -> None:
    found: defaultdict[int, list[str]] = defaultdict(list)
    _collect(objects, found)
    found_words = {ticket_id: list(dict.fromkeys(new)) for ticket_id, new in found.items() if new}
    if found_words:
        add_words(connection, found_words)


@event.listens_for(Session, "after_flush")
def _index_flushed_text(session: Session, flush_context: Any) -> None:
    renamed = (
        obj
        for obj in session.dirty
        if isinstance(obj, Ticket) and attributes.get_history(obj, "subject").added
    )
    _index(session.connection(), itertools.chain(session.new, renamed))
