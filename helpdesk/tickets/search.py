"""Ticket search: one word index per ticket (its subject and every message's text), and the
grammar of a search box (``parse``).

Text is split into words here, in Python, so SQLite and PostgreSQL see exactly the same words:
a word is a run of letters and digits (anything else separates words), compared after Unicode
NFKC normalisation and case folding; accents are kept ("café" is not "cafe").

A query is read term by term (whitespace separates terms) and a ticket matches when it matches
every term. A term matches when each of its words is a whole word of the ticket: ``refund`` does
not find "refunds", and punctuation only separates words, so ``50%`` looks for "50". Besides:

- ``refu*`` makes the term's last word a prefix: "refund", "refunds", "refused";
- a bare number or ``#number`` also matches the ticket with that number;
- an email address, or a phone number in any common format ("+1 (555) 010-1234", national
  numbers read in HELPDESK_PHONE_REGION), also matches every ticket of the customer holding
  that address or number.

The index lives outside the models because its storage is the database's own full-text engine:
an FTS5 table on SQLite and a ``tsvector`` column with a GIN index on PostgreSQL (migration
0002 creates them; ``include_in_autogenerate`` keeps them out of model/migration comparisons).
Both answer a prefix from their term index (FTS5's term b-tree, a partial match in the GIN
tree), so a prefix costs a range of terms rather than a scan; ``MIN_PREFIX`` keeps that range
sane. A flush listener adds the words of every new message and ticket subject, so no write
path can forget the index; deleting a ticket deletes its row (a trigger on SQLite, a cascading
foreign key on PostgreSQL).

Each row also holds the ticket's properties the queue filters on (status, stage, channel,
priority, assignee, team) as words no text can produce (``property_word``): a private-use
character (never a letter or digit to ``words``, yet part of a token to FTS5), one per property,
before the value. So "refund among open tickets of the purchase stage" is one read of the index,
which lets the queue count matches per status without looking up every match's ticket
(``word_matches``); the same listener moves the words when a ticket's properties change.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    column,
    event,
    literal_column,
    select,
    table,
    union,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, TSVECTOR
from sqlalchemy.orm import Session, attributes
from sqlalchemy.types import Text

from helpdesk.models import CustomerIdentity, Direction, IdentityKind, Message, Ticket
from helpdesk.tickets import customers

SEARCH_TABLE = "ticket_search"
# Longer "words" are hashes, tokens or base64 leftovers; cut so one cannot bloat the index.
MAX_WORD_LENGTH = 40
# Ticket ids per lookup, well under SQLite's limit on bound parameters.
_SQLITE_CHUNK = 500

# A shorter prefix reads too much of the index for a search box to wait on.
MIN_PREFIX = 2
# "+1 (555) 010 12 34": the most whitespace-separated parts a typed phone number has.
_MAX_PHONE_PARTS = 6
# Ticket numbers are integers; longer digit runs are order numbers and the like.
_NUMBER = re.compile(r"#?(\d{1,9})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE_PART = re.compile(r"[+(]?[\d().\-]*\d[\d().\-]*")
# Around a term, as in "#998," or "<ann@example.com>"; parentheses belong to "(555) 010-1234".
_EDGE_PUNCTUATION = "\"'[]<>,;:.!?"

_WORD = re.compile(r"[^\W_]+")
# The ticket attributes the index holds as words, each with the mark its words start with:
# Unicode's private use area, so no typed word holds one.
PROPERTY_MARKS = {
    "status": "\ue000",
    "stage": "\ue001",
    "channel": "\ue002",
    "priority": "\ue003",
    "assignee_id": "\ue004",
    "team_id": "\ue005",
}
# Relationships whose change sets a marked column only as the flush writes it.
_SET_THROUGH = {"assignee_id": "assignee", "team_id": "team"}
_sqlite_index = table(SEARCH_TABLE, column("rowid", Integer), column("words", Text))
# The index's words: FTS5's own list on SQLite (migration 0038), a table on PostgreSQL (0040).
_terms = table(f"{SEARCH_TABLE}_terms", column("term", Text))
# Sorts after every character, so prefix + this bounds the words that start with prefix.
_LAST_CHARACTER = "\U0010ffff"
_postgres_index = table(SEARCH_TABLE, column("ticket_id", Integer), column("words", TSVECTOR))


def property_word(name: str, value: object) -> str:
    """The index's word for one value of a ticket attribute of ``PROPERTY_MARKS`` (see the
    module's docstring); None, as in an unassigned ticket, is "none"."""
    shown = "none" if value is None else getattr(value, "value", value)
    return f"{PROPERTY_MARKS[name]}{shown}"


def property_words(ticket: Ticket) -> list[str]:
    """A ticket's property words, as its index row holds them."""
    return [property_word(name, getattr(ticket, name)) for name in PROPERTY_MARKS]


def words(text: str | None) -> list[str]:
    """The distinct words of a text, in order of first appearance, as the index stores them."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return list(dict.fromkeys(word[:MAX_WORD_LENGTH] for word in _WORD.findall(folded)))


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a query: its words (the last one a prefix when it ends in ``*``), and what
    else it may stand for: a ticket number, a customer's email address or phone number."""

    words: tuple[str, ...]
    prefix: bool = False
    number: int | None = None
    email: str | None = None
    phone: str | None = None

    @property
    def plain(self) -> bool:
        """Whether the term matches by its words alone."""
        return self.number is None and self.email is None and self.phone is None


class InvalidSearch(ValueError):
    """A query the index cannot answer well; the message says why."""


def parse(query: str) -> list[Term]:
    """The terms of a search box's text; a token without any word is no term."""
    return [term for term in map(_term, tokens(query)) if term is not None]


def _term(token: str) -> Term | None:
    found = tuple(words(token))
    if not found:
        return None
    prefix = token.endswith("*")
    if prefix and len(found[-1]) < MIN_PREFIX:
        raise InvalidSearch(
            f"{token!r}: a prefix needs at least {MIN_PREFIX} letters or digits before *"
        )
    bare = token.strip(_EDGE_PUNCTUATION)
    number = _NUMBER.fullmatch(bare)
    return Term(
        found,
        prefix,
        number=int(number.group(1)) if number else None,
        email=email_of(bare),
        phone=phone_of(bare),
    )


def tokens(query: str) -> list[str]:
    """Whitespace-separated tokens, except that a phone number written with spaces is one."""
    parts = query.split()
    found = []
    start = 0
    while start < len(parts):
        end = start + 1
        # Longest first: "+1 555 010 1234" before "+1 555".
        for stop in range(min(len(parts), start + _MAX_PHONE_PARTS), start + 1, -1):
            run = parts[start:stop]
            if phone_of(" ".join(run)):
                end = stop
                break
        found.append(" ".join(parts[start:end]))
        start = end
    return found


def email_of(token: str) -> str | None:
    """The address a token spells, as identities store it, or None when it is no address."""
    bare = token.strip(_EDGE_PUNCTUATION)
    return bare.lower() if _EMAIL.fullmatch(bare) else None


def phone_like(parts: list[str]) -> bool:
    """Whether these parts are only digits and the marks people write phone numbers with."""
    return all(map(_PHONE_PART.fullmatch, parts))


def phone_of(token: str) -> str | None:
    """The E.164 number a token of ``tokens`` spells, or None when it is no phone number."""
    return customers.typed_phone(token) if phone_like(token.split()) else None


def tickets_matching(
    query: str, dialect: str, properties: list[list[str]] | None = None
) -> ColumnElement[bool] | None:
    """The condition 'the ticket matches every term of ``query``'; None without terms. The
    words are looked up together with ``properties`` (see ``index_query``), the property words
    of the list's other filters, so the index hands over only the tickets that pass them too."""
    terms = parse(query)
    if not terms:
        return None
    plain = [term for term in terms if term.plain]
    conditions = [Ticket.id.in_(_indexed(plain, dialect, properties or ()))] if plain else []
    for term in terms:
        if not term.plain:
            # One IN over a union, not an OR of conditions: the planner reads each part from
            # its own index instead of testing every ticket against the OR.
            conditions.append(Ticket.id.in_(union(_indexed([term], dialect), *_also(term))))
    return and_(*conditions)


def _indexed(terms: list[Term], dialect: str, properties: Iterable[list[str]] = ()) -> Select:
    """The ids of tickets holding every word of these terms (prefixes as prefixes) and of
    ``properties`` (see ``index_query``)."""
    return indexed_ids(index_query(terms, properties, dialect), dialect)


def index_query(
    terms: list[Term],
    properties: Iterable[list[str]],
    dialect: str,
    spelled_out: dict[str, list[str]] | None = None,
) -> str:
    """The index's own query (FTS5's syntax, or a tsquery) for tickets holding every word of
    ``terms`` and one word of each list of ``properties`` (``property_word``: "stage purchase
    or use, and status open"). A prefix found in ``spelled_out`` is asked as its words, any of
    which matches (see ``prefix_words``)."""
    syntax = _POSTGRESQL_SYNTAX if dialect == "postgresql" else _SQLITE_SYNTAX
    spelled_out = spelled_out or {}
    parts = []
    for term in terms:
        for n, word in enumerate(term.words):
            if not (term.prefix and n == len(term.words) - 1):
                parts.append(syntax.whole.format(word))
            elif found := spelled_out.get(word):
                parts.append(syntax.any_of(found))
            else:
                parts.append(syntax.prefix.format(word))
    parts.extend(syntax.any_of(either) for either in properties)
    return syntax.every.join(parts)


@dataclass(frozen=True, slots=True)
class _IndexSyntax:
    """How the index's own query language writes a word, a prefix, "any of" and "all of"."""

    whole: str
    prefix: str
    either: str
    every: str

    def any_of(self, words: list[str]) -> str:
        return "(" + self.either.join(self.whole.format(word) for word in words) + ")"


# Lexemes quoted and cast, not parsed by to_tsquery: the words are already normalised.
_POSTGRESQL_SYNTAX = _IndexSyntax("'{}'", "'{}':*", " | ", " & ")
_SQLITE_SYNTAX = _IndexSyntax('"{}"', '"{}"*', " OR ", " AND ")


def indexed_ids(
    query: str,
    dialect: str,
    floor: int | None = None,
    ceiling: int | None = None,
    among: list[int] | None = None,
) -> Select:
    """The ids of the tickets an ``index_query`` finds, those from ``floor`` to ``ceiling`` or
    ``among`` these ids only when given."""
    ticket_id, found = _index_match(query, dialect)
    bounds = [found]
    if floor is not None:
        bounds.append(ticket_id >= floor)
    if ceiling is not None:
        bounds.append(ticket_id <= ceiling)
    if among is not None:
        bounds.append(ticket_id.in_(among))
    return select(ticket_id).where(*bounds).correlate(None)


def holds_words(query: str, dialect: str) -> ColumnElement[bool]:
    """Whether the ticket of the enclosing query holds what an ``index_query`` finds, checked
    in its own index row: one lookup per ticket, however many tickets match."""
    ticket_id, found = _index_match(query, dialect)
    return select(ticket_id).where(ticket_id == Ticket.id, found).correlate(Ticket).exists()


def _index_match(query: str, dialect: str) -> tuple[ColumnElement[int], ColumnElement[bool]]:
    """The index's ticket id column, and the condition that its row holds an ``index_query``."""
    if dialect == "postgresql":
        found = _postgres_index.c.words.op("@@")(bindparam("q", query, TSQUERY, unique=True))
        return _postgres_index.c.ticket_id, found
    # detail=none tables take queries on the whole table, not on a column.
    found = literal_column(SEARCH_TABLE).op("MATCH")(bindparam("q", query, unique=True))
    return _sqlite_index.c.rowid, found


def prefix_words(connection: Connection, prefix: str, most: int) -> list[str] | None:
    """The index's words that start with ``prefix``, or None when there are more than ``most``.
    The index answers a prefix by gathering the matches of all its words before it can give or
    narrow the first one; asked as "any of these words", it reads them in step (newest first on
    SQLite, skipping to the tickets of a status on PostgreSQL) and stops with the page or the
    count. On PostgreSQL the list may hold words no ticket holds any more: asked for, they
    find nothing."""
    found = connection.execute(
        select(_terms.c.term)
        .distinct()
        .where(_terms.c.term >= prefix, _terms.c.term < prefix + _LAST_CHARACTER)
        .order_by(_terms.c.term)
        .limit(most + 1)
    ).scalars()
    words_found = list(found)
    return None if len(words_found) > most else words_found


def _also(term: Term) -> list[Select]:
    """The ids of the tickets a term stands for besides its words."""
    found = []
    if term.number is not None:
        found.append(select(Ticket.id).where(Ticket.number == term.number).correlate(None))
    for kind, value in ((IdentityKind.EMAIL, term.email), (IdentityKind.PHONE, term.phone)):
        if value is not None:
            found.append(
                select(Ticket.id)
                .join(CustomerIdentity, CustomerIdentity.customer_id == Ticket.customer_id)
                .where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
                .correlate(None)
            )
    return found


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
        # The words not listed yet, as this transaction sees them. No unique key makes a
        # concurrent transaction listing the same new word wait for this one's commit: both
        # may list it, and readers take each word once.
        connection.execute(
            sql(
                f"INSERT INTO {SEARCH_TABLE}_terms (term) SELECT DISTINCT new.term "
                "FROM unnest(CAST(:terms AS text[])) AS new(term) WHERE NOT EXISTS "
                f"(SELECT FROM {SEARCH_TABLE}_terms AS listed WHERE listed.term = new.term)"
            ),
            {"terms": [word for new in found.values() for word in new]},
        )
        return
    # SQLite: read the rows of all these tickets at once, then write the new and the grown.
    stored = _sqlite_rows(connection, list(found))
    created, grown = [], []
    for ticket_id, new in found.items():
        if ticket_id not in stored:
            created.append({"id": ticket_id, "words": " ".join(new)})
            continue
        merged = list(dict.fromkeys([*stored[ticket_id].split(), *new]))
        if len(merged) > len(stored[ticket_id].split()):
            grown.append({"id": ticket_id, "words": " ".join(merged)})
    _write_sqlite_rows(connection, created, grown)


def _sqlite_rows(connection: Connection, ids: list[int]) -> dict[int, str]:
    stored: dict[int, str] = {}
    for start in range(0, len(ids), _SQLITE_CHUNK):
        rows = connection.execute(
            select(_sqlite_index.c.rowid, _sqlite_index.c.words).where(
                _sqlite_index.c.rowid.in_(ids[start : start + _SQLITE_CHUNK])
            )
        )
        stored.update({ticket_id: text for ticket_id, text in rows})
    return stored


def _write_sqlite_rows(connection: Connection, created: list[dict], changed: list[dict]) -> None:
    if created:
        connection.execute(
            sql(f"INSERT INTO {SEARCH_TABLE} (rowid, words) VALUES (:id, :words)"), created
        )
    if changed:
        connection.execute(
            sql(f"UPDATE {SEARCH_TABLE} SET words = :words WHERE rowid = :id"), changed
        )


def forget(connection: Connection, ids: list[int]) -> int:
    """Drop these tickets' rows from the index, and on PostgreSQL the listed words no row
    holds any more (an erased customer's name must not stay behind in the list); how many
    rows went. SQLite's list is the index's own, so it follows by itself."""
    if connection.dialect.name != "postgresql":
        statement = sql(f"DELETE FROM {SEARCH_TABLE} WHERE rowid IN :ids")
        return connection.execute(
            statement.bindparams(bindparam("ids", expanding=True)), {"ids": ids}
        ).rowcount
    gone = (
        connection.execute(
            sql(
                f"DELETE FROM {SEARCH_TABLE} WHERE ticket_id = ANY(:ids) "
                "RETURNING tsvector_to_array(words)"
            ),
            {"ids": ids},
        )
        .scalars()
        .all()
    )
    # A second statement: one with the DELETE above in a WITH would still see the rows it drops.
    connection.execute(
        sql(
            f"DELETE FROM {SEARCH_TABLE}_terms AS listed WHERE term = ANY(:terms) AND NOT EXISTS "
            f"(SELECT FROM {SEARCH_TABLE} WHERE words @@ quote_literal(listed.term)::tsquery)"
        ),
        {"terms": sorted({word for row in gone for word in row})},
    )
    return len(gone)


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


def _index(
    connection: Connection, objects: Iterable[object], created: Iterable[Ticket] = ()
) -> None:
    found: defaultdict[int, list[str]] = defaultdict(list)
    _collect(objects, found)
    for ticket in created:
        found[ticket.id].extend(property_words(ticket))
    found_words = {ticket_id: list(dict.fromkeys(new)) for ticket_id, new in found.items() if new}
    if found_words:
        add_words(connection, found_words)


def mark_properties(connection: Connection, marked: dict[int, list[str]]) -> None:
    """Put each ticket's property words (``property_words``) in its index row in place of the
    ones it held."""
    marks = list(PROPERTY_MARKS.values())
    if connection.dialect.name == "postgresql":
        held = f"SELECT word FROM unnest(tsvector_to_array({SEARCH_TABLE}.words)) AS word"
        connection.execute(
            sql(
                f"INSERT INTO {SEARCH_TABLE} (ticket_id, words) "
                "VALUES (:ticket_id, array_to_tsvector(:words)) "
                "ON CONFLICT (ticket_id) DO UPDATE SET words = "
                f"ts_delete({SEARCH_TABLE}.words, ARRAY({held} WHERE left(word, 1) = ANY(:marks)))"
                " || excluded.words"
            ).bindparams(
                bindparam("words", type_=ARRAY(Text)), bindparam("marks", type_=ARRAY(Text))
            ),
            [
                {"ticket_id": ticket_id, "words": words, "marks": marks}
                for ticket_id, words in marked.items()
            ],
        )
        return
    stored = _sqlite_rows(connection, list(marked))
    created, changed = [], []
    for ticket_id, new in marked.items():
        if ticket_id not in stored:
            created.append({"id": ticket_id, "words": " ".join(new)})
            continue
        kept = [word for word in stored[ticket_id].split() if word[0] not in marks]
        changed.append({"id": ticket_id, "words": " ".join([*kept, *new])})
    _write_sqlite_rows(connection, created, changed)


def _properties_changed(ticket: Ticket) -> bool:
    names = [*PROPERTY_MARKS, *_SET_THROUGH.values()]
    # Not loading what was not loaded: an attribute nobody touched has not changed.
    return any(
        attributes.get_history(ticket, name, attributes.PASSIVE_NO_INITIALIZE).has_changes()
        for name in names
    )


@event.listens_for(Session, "after_flush")
def _index_flushed_text(session: Session, flush_context: Any) -> None:
    connection = session.connection()
    renamed = (
        obj
        for obj in session.dirty
        if isinstance(obj, Ticket) and attributes.get_history(obj, "subject").added
    )
    created = [obj for obj in session.new if isinstance(obj, Ticket)]
    _index(connection, itertools.chain(session.new, renamed), created)
    moved = {
        obj.id: property_words(obj)
        for obj in session.dirty
        if isinstance(obj, Ticket) and _properties_changed(obj)
    }
    if moved:
        mark_properties(connection, moved)
