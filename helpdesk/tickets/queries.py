"""Ticket and customer lists: sorts, keyset pagination and capped status counts; the filters
themselves are in helpdesk/tickets/ticket_filters.py.

Callers pass plain values (the API and the agent queue parse query strings with
``TicketFilter.from_args``, ``parse_sort`` and ``parse_limit``), so nothing here depends on a
Flask request.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, joinedload, selectinload

from helpdesk.extensions import db
from helpdesk.models import (
    AuditEvent,
    Customer,
    CustomerIdentity,
    IdentityKind,
    Message,
    Priority,
    Ticket,
    TicketEvent,
    TicketStatus,
    WebhookDelivery,
)
from helpdesk.tickets import search, word_matches
from helpdesk.tickets.bins import Bin, bin_condition

# UNASSIGNED, parse_date, start_of_day, Trait and trait_condition stay importable from here,
# where the lists and reports have always found them.
from helpdesk.tickets.filter_values import UNASSIGNED as UNASSIGNED
from helpdesk.tickets.filter_values import InvalidFilter
from helpdesk.tickets.filter_values import parse_date as parse_date
from helpdesk.tickets.filter_values import start_of_day as start_of_day
from helpdesk.tickets.ticket_filters import TicketFilter, dialect
from helpdesk.tickets.ticket_filters import Trait as Trait
from helpdesk.tickets.ticket_filters import trait_condition as trait_condition

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
COUNT_CAP = 1000

Row = TypeVar("Row", Ticket, Customer, AuditEvent)
# Reads a segment's next (id, key) rows itself: (conditions, the cursor's id or None, how many).
KeyReader = Callable[[list[ColumnElement[bool]], int | None, int], list[tuple[int, datetime]]]


@dataclass(frozen=True, slots=True)
class Page(Generic[Row]):
    items: list[Row]
    next_cursor: str | None


class QueueSort(StrEnum):
    """The orders a ticket list can be read in (see ``ticket_page``)."""

    NEWEST = "newest"
    WAITING = "waiting"
    PRIORITY = "priority"
    DUE = "due"


@dataclass(frozen=True, slots=True)
class StatusCount:
    """Tickets (in one status, or in a saved view) counted up to COUNT_CAP; ``capped`` means
    "COUNT_CAP or more"."""

    value: int
    capped: bool

    def __str__(self) -> str:
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"


@dataclass(frozen=True, slots=True)
class _Segment:
    """One run of a list: the rows meeting ``where`` (and ``holds``), by ``key`` then id."""

    where: ColumnElement[bool] | None
    holds: Callable[[Any], bool]
    key: InstrumentedAttribute
    row_id: InstrumentedAttribute
    descending: bool

    def order(self) -> list[ColumnElement]:
        if self.descending:
            return [self.key.desc(), self.row_id.desc()]
        return [self.key.asc(), self.row_id.asc()]

    def after(self, key: datetime, row_id: int) -> ColumnElement[bool]:
        """The rows that come after (key, row_id) in this segment's order."""
        position = tuple_(self.key, self.row_id)
        boundary = tuple_(literal(key, self.key.type), literal(row_id, self.row_id.type))
        # The plain bound on the key lets any (…, key) index start at the cursor; the row
        # comparison alone only reaches an index that ends in (key, id).
        if self.descending:
            return and_(self.key <= key, position < boundary)
        return and_(self.key >= key, position > boundary)


def _always(row: object) -> bool:
    return True


def _priority_segment(level: Priority) -> _Segment:
    return _Segment(
        Ticket.priority == level,
        lambda ticket: ticket.priority == level,
        Ticket.created_at,
        Ticket.id,
        descending=True,
    )


def _dated_first(column: InstrumentedAttribute, undated_newest_first: bool) -> list[_Segment]:
    """Tickets with a ``column`` value, earliest first, then those without, by creation."""
    name = column.key
    return [
        _Segment(
            column.is_not(None),
            lambda ticket: getattr(ticket, name) is not None,
            column,
            Ticket.id,
            descending=False,
        ),
        _Segment(
            column.is_(None),
            lambda ticket: getattr(ticket, name) is None,
            Ticket.created_at,
            Ticket.id,
            descending=undated_newest_first,
        ),
    ]


_PRIORITY_ORDER = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)
# A sort is a list of segments read one after the other, each along an index of its own, so a
# page costs a few index range scans however deep it lies; the cursor names its segment.
_CUSTOMERS = "customers"
_AUDIT = "audit"
_MESSAGES = "messages"
_WEBHOOK_LOG = "webhook-deliveries"
_SEGMENTS: dict[str, list[_Segment]] = {
    QueueSort.NEWEST: [_Segment(None, _always, Ticket.created_at, Ticket.id, descending=True)],
    # The customer who has waited longest first; tickets without a customer message last.
    QueueSort.WAITING: _dated_first(Ticket.last_customer_message_at, undated_newest_first=False),
    QueueSort.PRIORITY: [_priority_segment(level) for level in _PRIORITY_ORDER],
    # The next SLA deadline soonest first; tickets without one last, newest first.
    QueueSort.DUE: _dated_first(Ticket.sla_due_at, undated_newest_first=True),
    _CUSTOMERS: [_Segment(None, _always, Customer.created_at, Customer.id, descending=True)],
    _AUDIT: [_Segment(None, _always, AuditEvent.at, AuditEvent.id, descending=True)],
    # A thread reads oldest first, as the ticket page shows it.
    _MESSAGES: [_Segment(None, _always, Message.created_at, Message.id, descending=False)],
    _WEBHOOK_LOG: [
        _Segment(None, _always, WebhookDelivery.created_at, WebhookDelivery.id, descending=True)
    ],
}


def ticket_page(
    filters: TicketFilter,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    sort: QueueSort = QueueSort.NEWEST,
) -> Page[Ticket]:
    """One page of matching tickets in ``sort`` order, with the cursor of the next page.

    ``newest``: created_at descending. ``waiting``: the customer who has waited longest for us
    first, i.e. ``last_customer_message_at`` (their latest message that was not automatic)
    ascending; an agent's reply does not reset it, so combine with ``status=new,open`` for
    "still waiting for us". Tickets without any customer message come last, oldest first.
    ``priority``: urgent, high, normal, low, newest first within each. ``due``: the next SLA
    deadline soonest first (overdue ones lead), then tickets without one, newest first. The
    ticket id breaks ties in every order. A cursor only continues the sort that made it.
    """
    skipped = None
    if sort == QueueSort.PRIORITY and filters.priorities:
        # A level the filter rules out has nothing to read: skip its query.
        skipped = [level not in filters.priorities for level in _PRIORITY_ORDER]
    read = None
    if sort == QueueSort.NEWEST and word_matches.windowed(filters.q, dialect()):
        read = partial(word_matches.newest_keys, filters.q, filters.property_words())
    return _keyset_page(
        Ticket,
        filters.conditions(with_words=False) if read else _words_checked(filters, limit + 1),
        sort,
        limit,
        cursor,
        options=(
            # Many-to-ones joined into the loading query: one round trip fewer per page.
            joinedload(Ticket.customer).selectinload(Customer.identities),
            joinedload(Ticket.assignee),
            joinedload(Ticket.team),
            selectinload(Ticket.tags),
        ),
        splits=[Ticket.status == status for status in filters.statuses],
        skipped=skipped,
        read=read,
    )


def status_counts(filters: TicketFilter) -> dict[TicketStatus, StatusCount]:
    """Matching tickets per status under every filter but the status one, each up to COUNT_CAP.

    Counting stops past COUNT_CAP so the cost stays bounded however many tickets there are: a
    ``StatusCount`` with ``capped`` set means "COUNT_CAP or more" and prints as "1,000+".
    Words found in many tickets are counted status by status from the word index, each count
    stopping at the cap too (``word_matches``); other searches count their matches in one pass.
    """
    unfiltered = replace(filters, statuses=())
    if word_matches.only_words(filters.q):
        without_words = unfiltered.conditions(with_words=False)
        left_out = None
        if unfiltered.narrowed_by_properties_alone():
            # Only the spam and the trash are left out besides what the index holds as words:
            # the index can count by itself.
            left_out = not_(bin_condition(Bin.ACTIVE))
        values = word_matches.capped_status_counts(
            filters.q, dialect(), without_words, unfiltered.property_words(), COUNT_CAP, left_out
        )
        if values is not None:
            return _status_counts(values)
    conditions = unfiltered.conditions()
    if search.words(filters.q):
        # The word index yields the matches once; one pass over them counts every status.
        query = select(Ticket.status, func.count()).where(*conditions).group_by(Ticket.status)
        found = {status: count for status, count in db.session.execute(query)}
        values = [found.get(status, 0) for status in TicketStatus]
    else:
        # One bounded count per status, each walking a (status, …) index up to the cap.
        counted = [
            select(func.count())
            .select_from(
                select(Ticket.id)
                .where(Ticket.status == status, *conditions)
                .limit(COUNT_CAP + 1)
                .subquery()
            )
            .scalar_subquery()
            for status in TicketStatus
        ]
        values = list(db.session.execute(select(*counted)).one())
    return _status_counts(values)


def _status_counts(values: list[int]) -> dict[TicketStatus, StatusCount]:
    return {
        status: StatusCount(min(value, COUNT_CAP), value > COUNT_CAP)
        for status, value in zip(TicketStatus, values, strict=True)
    }


def capped_counts(filters: list[TicketFilter]) -> list[StatusCount]:
    """Matching tickets per filter, each counted up to COUNT_CAP, in one round trip."""
    if not filters:
        return []
    counted = [
        select(func.count())
        .select_from(
            select(Ticket.id)
            .where(*_words_checked(each, COUNT_CAP + 1))
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        .scalar_subquery()
        for each in filters
    ]
    values = db.session.execute(select(*counted)).one()
    return [StatusCount(min(value, COUNT_CAP), value > COUNT_CAP) for value in values]


def _words_checked(filters: TicketFilter, wanted: int) -> list[ColumnElement[bool]]:
    """The filter's conditions for reading ``wanted`` rows, its words checked ticket by ticket
    where that reads less than gathering every match first (``word_matches.checked_per_ticket``)."""
    checked = word_matches.checked_per_ticket(filters.q, dialect(), wanted)
    if checked is None:
        return filters.conditions()
    return [*filters.conditions(with_words=False), checked]


def cursor_for(ticket: Ticket, sort: QueueSort = QueueSort.NEWEST) -> str:
    """The cursor of the page that continues a ``sort`` list right after ``ticket``."""
    segments = _SEGMENTS[sort]
    index = next(n for n, segment in enumerate(segments) if segment.holds(ticket))
    return _encode_cursor(sort, index, getattr(ticket, segments[index].key.key), ticket.id)


def customer_page(
    q: str = "", limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Customer]:
    """One page of customers matching every term of ``q``, newest first; merged ones left out.

    A term is part of the name or of an identity (an email address, a phone number), or a whole
    email address or phone number (in any common format) of the customer; digits written with
    phone marks ("010-1234") are looked for as digits.
    """
    # A customer merged into another is only a pointer to them now: never listed or found.
    conditions = [Customer.merged_into_id.is_(None)]
    conditions += [_customer_term(token) for token in search.tokens(q)]
    return _keyset_page(
        Customer,
        conditions,
        _CUSTOMERS,
        limit,
        cursor,
        options=(selectinload(Customer.identities),),
    )


def audit_page(
    conditions: list[ColumnElement[bool]], limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[AuditEvent]:
    """One page of the audit trail meeting every condition, newest first, with who did it."""
    return _keyset_page(
        AuditEvent,
        conditions,
        _AUDIT,
        limit,
        cursor,
        options=(joinedload(AuditEvent.actor), joinedload(AuditEvent.token)),
    )


def message_page(
    ticket_id: int, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Message]:
    """One page of a ticket's messages (notes too), oldest first, with their files and authors."""
    return _keyset_page(
        Message,
        [Message.ticket_id == ticket_id],
        _MESSAGES,
        limit,
        cursor,
        options=(selectinload(Message.attachments), joinedload(Message.author)),
    )


def webhook_delivery_page(
    endpoint_id: int, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[WebhookDelivery]:
    """One page of a webhook endpoint's delivery log, newest first."""
    conditions = [WebhookDelivery.endpoint_id == endpoint_id]
    return _keyset_page(WebhookDelivery, conditions, _WEBHOOK_LOG, limit, cursor)


@dataclass(frozen=True, slots=True)
class CustomerTickets:
    """How many tickets a customer has and their newest one."""

    count: int
    latest: Ticket | None


def customer_ticket_counts(customer_ids: list[int]) -> dict[int, CustomerTickets]:
    """Ticket count and newest ticket of each of these customers (a page of them); tickets in
    the trash left out."""
    of_customer = and_(Ticket.customer_id == Customer.id, Ticket.deleted_at.is_(None))
    counted = select(func.count()).where(of_customer).correlate(Customer).scalar_subquery()
    # Both read the (customer_id, created_at) index, a few entries per customer.
    newest = (
        select(Ticket.id)
        .where(of_customer)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Customer.id, counted, newest).where(Customer.id.in_(customer_ids))
    ).all()
    newest_ids = [ticket_id for _, _, ticket_id in rows if ticket_id is not None]
    tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(newest_ids)))}
    return {
        customer_id: CustomerTickets(count, tickets.get(ticket_id))
        for customer_id, count, ticket_id in rows
    }


def customer_tickets(customer_id: int) -> list[Ticket]:
    """Every ticket of one customer, newest first; those in the trash left out."""
    return list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.customer_id == customer_id, Ticket.deleted_at.is_(None))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .options(selectinload(Ticket.assignee))
        )
    )


def ticket_numbered(number: int) -> Ticket | None:
    """The ticket with this human number."""
    return db.session.scalar(select(Ticket).where(Ticket.number == number))


def ticket_with_thread(ticket_id: int) -> Ticket | None:
    """One ticket with everything its page shows loaded up front: messages, events, people."""
    return db.session.get(
        Ticket,
        ticket_id,
        options=[
            selectinload(Ticket.messages).selectinload(Message.attachments),
            selectinload(Ticket.messages).joinedload(Message.author),
            selectinload(Ticket.events).joinedload(TicketEvent.actor),
            selectinload(Ticket.customer).selectinload(Customer.identities),
            joinedload(Ticket.assignee),
        ],
    )


def parse_limit(value: str | None) -> int:
    """A page size from a query string: DEFAULT_LIMIT when absent, 1 to MAX_LIMIT otherwise."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise InvalidFilter(f"limit must be a whole number, not {value!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidFilter(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def parse_sort(value: str | None) -> QueueSort:
    """A sort from a query string: ``newest`` when absent."""
    if value is None or value == "":
        return QueueSort.NEWEST
    try:
        return QueueSort(value)
    except ValueError:
        allowed = ", ".join(member.value for member in QueueSort)
        raise InvalidFilter(f"sort must be one of {allowed}") from None


# --- keyset pagination ------------------------------------------------------------------------


def _keyset_page(
    model: type[Row],
    conditions: list[ColumnElement[bool]],
    kind: str,
    limit: int,
    cursor: str | None,
    *,
    options: tuple = (),
    splits: list[ColumnElement[bool]] | None = None,
    skipped: list[bool] | None = None,
    read: KeyReader | None = None,
) -> Page[Row]:
    # Keyset rather than OFFSET: pages stay stable while new rows arrive, and a deep page costs
    # what the first one does. Ids and keys are found first, then the page's rows are loaded
    # with their relations in one go, however many segments the page spans.
    segments = _SEGMENTS[kind]
    start, after = (0, None) if not cursor else _decode_cursor(cursor, kind)
    found: list[tuple[int, int, datetime]] = []  # (segment, id, key)
    for index in range(start, len(segments)):
        segment = segments[index]
        if skipped and skipped[index]:
            continue
        where = list(conditions)
        if segment.where is not None:
            where.append(segment.where)
        cursor_id = None
        if after is not None and index == start:
            where.append(segment.after(*after))
            cursor_id = after[1]
        wanted = limit + 1 - len(found)
        if read is not None:
            rows = read(where, cursor_id, wanted)
        else:
            rows = db.session.execute(_ordered_keys(segment, where, splits or [], wanted)).all()
        found += [(index, row_id, key) for row_id, key in rows]
        if len(found) > limit:
            break
    page_ids = [row_id for _, row_id, _ in found[:limit]]
    loaded = {}
    if page_ids:
        rows = db.session.scalars(select(model).where(model.id.in_(page_ids)).options(*options))
        loaded = {row.id: row for row in rows}
    items = [loaded[row_id] for row_id in page_ids]
    if len(found) <= limit:
        return Page(items, None)
    index, row_id, key = found[limit - 1]
    return Page(items, _encode_cursor(kind, index, key, row_id))


def _ordered_keys(
    segment: _Segment, where: list[ColumnElement[bool]], splits: list, wanted: int
) -> Select:
    """The ids and keys of a segment's next rows; with splits, one ordered read per value."""

    def ordered(*extra: ColumnElement[bool]) -> Select:
        query = select(segment.row_id, segment.key).where(*where, *extra)
        return query.order_by(*segment.order()).limit(wanted)

    if len(splits) < 2:
        return ordered()
    # status IN (a, b) cannot walk a (status, key) index in key order; status = a and
    # status = b each can, so read both that way and merge the few rows they give.
    merged = union_all(*(select(ordered(split).subquery()) for split in splits)).subquery()
    key, row_id = merged.c[segment.key.key], merged.c[segment.row_id.key]
    order = [key.desc(), row_id.desc()] if segment.descending else [key.asc(), row_id.asc()]
    return select(row_id, key).order_by(*order).limit(wanted)


def _encode_cursor(kind: str, segment: int, key: datetime, row_id: int) -> str:
    raw = f"{kind}|{segment}|{key.astimezone(UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, kind: str) -> tuple[int, tuple[datetime, int]]:
    """The segment a cursor points into and the (key, id) it continues after."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        cursor_kind, segment, stamp, row_id = raw.split("|")
        key = datetime.fromisoformat(stamp)
        if key.tzinfo is None or not 0 <= int(segment) < len(_SEGMENTS.get(cursor_kind, ())):
            raise ValueError("not a cursor of ours")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidFilter("cursor is not one this server handed out") from None
    if cursor_kind != kind:
        raise InvalidFilter(f"cursor belongs to the {cursor_kind} list, not the {kind} list")
    return int(segment), (key, int(row_id))


# --- matching customers ------------------------------------------------------------------------


def _customer_term(token: str) -> ColumnElement[bool]:
    # A whole address or number is read from the (kind, value) index; a part of one scans.
    email, phone = search.email_of(token), search.phone_of(token)
    if email is not None or phone is not None:
        kind = IdentityKind.EMAIL if email is not None else IdentityKind.PHONE
        return Customer.id.in_(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == kind, CustomerIdentity.value == (email or phone)
            )
        )
    if search.phone_like(token.split()):
        return _word_in_customer(re.sub(r"\D", "", token))
    # The customer search is already "part of", so a prefix mark adds nothing.
    return _word_in_customer(token.lower().rstrip("*"))


def _word_in_customer(word: str) -> ColumnElement[bool]:
    # LIKE on lower() works alike on SQLite and PostgreSQL; autoescape keeps % and _ literal.
    in_identities = exists().where(
        CustomerIdentity.customer_id == Customer.id,
        func.lower(CustomerIdentity.value).contains(word, autoescape=True),
    )
    return or_(func.lower(Customer.name).contains(word, autoescape=True), in_identities)
