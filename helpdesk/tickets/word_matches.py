"""A word search's newest matches and its capped counts, read so that the cost follows the page
rather than the number of matches.

A word found in a quarter of a million tickets is a quarter of a million index entries; reading
them all to sort them by date, or to count them, costs far more than a page. So:

- *Counts* ask the index for the words together with one status and the filter's other
  properties (``search.property_word``): the index walks the entry lists in step and the count
  stops at ``COUNT_CAP + 1``. On PostgreSQL, when nothing but the words and those properties
  narrows the list, the index's own count is taken as it is, less the spam and trash tickets
  among its matches, instead of each match's ticket being looked up. A prefix is asked as the
  words it stands for (``search.prefix_words``).
- *The newest page* (SQLite) reads the index from the highest ticket ids down, which FTS5 does
  in its own order, a window of ``_WINDOW`` matches at a time. Ticket ids grow with creation
  nearly always, but not always (a split ticket takes the date of its first message, a mailbox
  backlog its arrival's), so the page found in a window is checked: any ticket outside the
  window that sorts between the cursor and the page's last row is read as well (few, or the
  window grows; past ``_STRAYS_CAP`` the page is read from every match). A window that does not
  fill the page grows eightfold. PostgreSQL's planner walks the date index and tests each
  ticket's row by itself when the word is common, so it gets the plain query.
- *Other orders and saved views' counts* (SQLite) walk their own index and check each ticket's
  words by its rowid when that reads less than gathering every match (``checked_per_ticket``).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Subquery,
    func,
    literal,
    or_,
    select,
    tuple_,
    union,
)

from helpdesk.extensions import db
from helpdesk.models import Ticket, TicketStatus
from helpdesk.tickets import search

# Matches read in the first window; a common word fills a page in far fewer.
_WINDOW = 500
_GROWTH = 8
# Tickets out of id order a page takes in by name before reading every match instead.
_STRAYS_CAP = 200
# A prefix of more words than this is left to FTS5's own prefix search (see prefix_words).
_MOST_PREFIX_WORDS = 40
# Fewer matches than this are read whole: cheaper than windows and checks.
_FEW = 5000
# One ticket's words checked by rowid costs about as much as this many matches read in a row
# (SQLite at 1,000,000 tickets: ~40 and ~6 microseconds).
_CHECK_COST = 7
# Tickets in the spam or the trash whose words a count checks one by one (``left_out``).
_MOST_LEFT_OUT = 2000


def only_words(q: str) -> bool:
    """Whether a search is words alone (no ticket number, address or phone number), which the
    word index answers by itself."""
    terms = search.parse(q)
    return bool(terms) and all(term.plain for term in terms)


def windowed(q: str, dialect: str) -> bool:
    """Whether a search reads its newest page in windows: only words, on SQLite."""
    return dialect == "sqlite" and only_words(q)


def checked_per_ticket(q: str, dialect: str, wanted: int) -> ColumnElement[bool] | None:
    """The condition that a ticket holds the words of ``q``, checked ticket by ticket as a list
    in another order than the newest, or a capped count, walks its own index until it has
    ``wanted`` rows (SQLite); None when reading every match first costs less (words in fewer
    tickets, see ``_checking_pays``), when the search is not words alone, or on PostgreSQL,
    whose planner makes the same choice itself. As an IN list, a word in a quarter of a million
    tickets had every match read and held before the first row came."""
    if dialect != "sqlite" or not only_words(q):
        return None
    terms = search.parse(q)
    query = search.index_query(terms, (), "sqlite", _spelled_out(terms))
    if not _checking_pays(query, wanted):
        return None
    return search.holds_words(query, "sqlite")


def _checking_pays(query: str, wanted: int) -> bool:
    """Whether checking tickets one by one until ``wanted`` match reads less than reading all M
    matches of ``query``: of N tickets it checks about wanted * N / M, each costing
    ``_CHECK_COST`` matches read, so it pays when M * M > wanted * N * _CHECK_COST."""
    tickets = db.session.scalar(select(func.max(Ticket.id))) or 0
    return not _fewer_than(query, max(_FEW, math.isqrt(wanted * tickets * _CHECK_COST)))


def newest_keys(
    q: str,
    properties: list[list[str]],
    where: list[ColumnElement[bool]],
    cursor_id: int | None,
    wanted: int,
) -> list[tuple[int, datetime]]:
    """The ids and creation times of the next ``wanted`` tickets, newest first, that meet
    ``where`` (the filters but the words, and the cursor's bound) and hold the words of ``q``
    and the filter's ``properties`` (``search.index_query``), so that a window holds matches
    of the whole filter where the index can tell."""
    terms = search.parse(q)
    query = search.index_query(terms, properties, "sqlite", _spelled_out(terms))
    if _fewer_than(query, _FEW):
        return _read(where, search.indexed_ids(query, "sqlite"), wanted)
    size = _WINDOW
    while True:
        floor = _nth_id(query, cursor_id, size)
        window = search.indexed_ids(query, "sqlite", floor=floor, ceiling=cursor_id)
        found = _read(where, window, wanted)
        if len(found) < wanted and floor is not None:
            size *= _GROWTH
            continue
        if floor is None and cursor_id is None:
            return found
        last = found[-1] if len(found) == wanted else None
        strays = _strays(where, last, floor, cursor_id)
        if strays is None:
            return _read(where, search.indexed_ids(query, "sqlite"), wanted)
        if not strays:
            return found
        among = search.indexed_ids(query, "sqlite", among=strays)
        return _read(where, union(window, among), wanted)


def capped_status_counts(
    q: str,
    dialect: str,
    where: list[ColumnElement[bool]],
    properties: list[list[str]],
    cap: int,
    left_out: ColumnElement[bool] | None = None,
) -> list[int] | None:
    """Per status (in ``TicketStatus`` order), the tickets meeting ``where`` that hold the words
    of ``q``, each counted up to ``cap`` + 1, in one round trip. ``properties`` are the property
    words of ``where``'s filters (``search.index_query``), which the index narrows by first.
    None when the search is better counted in one pass over its matches: not words alone, or
    words found in few tickets (on SQLite; PostgreSQL's planner reads few matches well either
    way).

    ``left_out``, when given, says that ``where`` is exactly ``properties`` and "not
    ``left_out``": on PostgreSQL the index is then counted by itself, without looking up each
    match's ticket (see ``_counted_from_index``)."""
    if not only_words(q):
        return None
    terms = search.parse(q)
    spelled_out = _spelled_out(terms)
    every_status = search.index_query(terms, properties, dialect, spelled_out)
    if dialect == "sqlite" and _fewer_than(every_status, _FEW):
        return None
    # SQLite looks a match's ticket up by its rowid for next to nothing: only PostgreSQL gains.
    if left_out is not None and dialect == "postgresql":
        counted = _counted_from_index(
            terms, dialect, spelled_out, every_status, properties, left_out, cap
        )
        if counted is not None:
            return counted
    subqueries = []
    for status in TicketStatus:
        query = search.index_query(terms, _with_status(properties, status), dialect, spelled_out)
        # A join, not IN: the index's matches stream into the count, which stops at the cap.
        matches = search.indexed_ids(query, dialect).subquery()
        first = (
            select(Ticket.id)
            .join(matches, matches.c[0] == Ticket.id)
            .where(*where)
            .limit(cap + 1)
            .subquery()
        )
        subqueries.append(_count(first))
    return list(db.session.execute(select(*subqueries)).one())


def _counted_from_index(
    terms: list[search.Term],
    dialect: str,
    spelled_out: dict[str, list[str]],
    every_status: str,
    properties: list[list[str]],
    left_out: ColumnElement[bool],
    cap: int,
) -> list[int] | None:
    """The capped counts of ``capped_status_counts`` read from the index alone: per status, the
    index's matches counted up to ``cap`` + 1 + the left-out tickets among them, less those.

    Looking up the ticket of each match (to leave out the spam and the trash) cost as much as
    reading the index; the left-out tickets are few, so their matches are found once, by
    checking each one's words, and taken off. None when they are too many for that."""
    outside = db.session.execute(
        select(Ticket.status, search.holds_words(every_status, dialect))
        .where(left_out)
        .limit(_MOST_LEFT_OUT + 1)
    ).all()
    if len(outside) > _MOST_LEFT_OUT:
        return None
    left_out_matches = Counter(status for status, holds in outside if holds)
    subqueries = []
    for status in TicketStatus:
        query = search.index_query(terms, _with_status(properties, status), dialect, spelled_out)
        first = search.indexed_ids(query, dialect).limit(cap + 1 + left_out_matches[status])
        subqueries.append(_count(first.subquery()))
    found = db.session.execute(select(*subqueries)).one()
    return [
        count - left_out_matches[status] for status, count in zip(TicketStatus, found, strict=True)
    ]


def _with_status(properties: list[list[str]], status: TicketStatus) -> list[list[str]]:
    return [*properties, [search.property_word("status", status)]]


def _count(rows: Subquery) -> ScalarSelect[int]:
    return select(func.count()).select_from(rows).scalar_subquery()


def _spelled_out(terms: list[search.Term]) -> dict[str, list[str]]:
    """The words of each prefix that ``search.prefix_words`` spells out."""
    spelled_out: dict[str, list[str]] = {}
    connection = db.session.connection()
    for term in terms:
        if term.prefix:
            found = search.prefix_words(connection, term.words[-1], _MOST_PREFIX_WORDS)
            if found is not None:
                spelled_out[term.words[-1]] = found
    return spelled_out


def _fewer_than(query: str, count: int) -> bool:
    return _nth_id(query, None, count) is None


def _nth_id(query: str, ceiling: int | None, n: int) -> int | None:
    """The id of the ``n``th match from the highest ids down, up to ``ceiling``; None when there
    are fewer (the index reads its entries in id order and stops there)."""
    ids = search.indexed_ids(query, "sqlite", ceiling=ceiling)
    column = ids.selected_columns[0]
    return db.session.scalar(ids.order_by(column.desc()).limit(1).offset(n - 1))


def _read(where: list[ColumnElement[bool]], ids: Select, wanted: int) -> list[tuple[int, datetime]]:
    query = (
        select(Ticket.id, Ticket.created_at)
        .where(Ticket.id.in_(ids), *where)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(wanted)
    )
    return [(ticket_id, created) for ticket_id, created in db.session.execute(query)]


def _strays(
    where: list[ColumnElement[bool]],
    last: tuple[int, datetime] | None,
    floor: int | None,
    ceiling: int | None,
) -> list[int] | None:
    """Tickets outside the window [floor, ceiling] that sort before ``last`` (anywhere after the
    cursor when the page is short); None when there are too many to take in by name."""
    outside = []
    if floor is not None:
        outside.append(Ticket.id < floor)
    if ceiling is not None:
        outside.append(Ticket.id > ceiling)
    bound = []
    if last is not None:
        last_id, last_created = last
        # The plain bound lets the (created_at, id) index start there.
        bound = [
            Ticket.created_at >= last_created,
            tuple_(Ticket.created_at, Ticket.id)
            >= tuple_(literal(last_created, Ticket.created_at.type), literal(last_id)),
        ]
    query = select(Ticket.id).where(*where, *bound, or_(*outside)).limit(_STRAYS_CAP + 1)
    found = list(db.session.scalars(query))
    return None if len(found) > _STRAYS_CAP else found
