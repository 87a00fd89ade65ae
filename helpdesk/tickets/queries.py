"""Ticket and customer lists: filters and keyset pagination, newest first.

Callers pass plain values (the API and the agent queue parse query strings with
``TicketFilter.from_args`` and ``parse_limit``), so nothing here depends on a Flask request.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Generic, Literal, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    Customer,
    CustomerIdentity,
    Message,
    Priority,
    Stage,
    Ticket,
    TicketEvent,
    TicketStatus,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
UNASSIGNED = "none"

Row = TypeVar("Row", Ticket, Customer)
E = TypeVar("E", bound=StrEnum)


class InvalidFilter(ValueError):
    """A filter, limit or cursor value that cannot be understood; the message says which."""


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What a ticket list is narrowed to; empty fields do not narrow anything."""

    statuses: tuple[TicketStatus, ...] = ()
    stages: tuple[Stage, ...] = ()
    channels: tuple[Channel, ...] = ()
    priorities: tuple[Priority, ...] = ()
    assignee: int | Literal["none"] | None = None  # a user id, UNASSIGNED, or anyone
    q: str = ""  # every word must appear in the subject or in some message's text
    created_from: date | None = None  # inclusive, UTC
    created_to: date | None = None  # inclusive, UTC

    @classmethod
    def from_args(cls, args: Mapping[str, str], me: int) -> TicketFilter:
        """Parse query-string values; ``me`` is the user id that ``assignee=me`` stands for."""
        return cls(
            statuses=_enum_list(TicketStatus, args.get("status"), "status"),
            stages=_enum_list(Stage, args.get("stage"), "stage"),
            channels=_enum_list(Channel, args.get("channel"), "channel"),
            priorities=_enum_list(Priority, args.get("priority"), "priority"),
            assignee=_assignee(args.get("assignee"), me),
            q=args.get("q", ""),
            created_from=_date(args.get("created_from"), "created_from"),
            created_to=_date(args.get("created_to"), "created_to"),
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses this filter stands for."""
        found: list[ColumnElement[bool]] = []
        for column, values in (
            (Ticket.status, self.statuses),
            (Ticket.stage, self.stages),
            (Ticket.channel, self.channels),
            (Ticket.priority, self.priorities),
        ):
            if values:
                found.append(column.in_(values))
        if self.assignee == UNASSIGNED:
            found.append(Ticket.assignee_id.is_(None))
        elif self.assignee is not None:
            found.append(Ticket.assignee_id == self.assignee)
        found.extend(_word_in_ticket(word) for word in _words(self.q))
        if self.created_from:
            found.append(Ticket.created_at >= _start_of(self.created_from))
        if self.created_to:
            found.append(Ticket.created_at < _start_of(self.created_to + timedelta(days=1)))
        return found


@dataclass(frozen=True, slots=True)
class Page(Generic[Row]):
    items: list[Row]
    next_cursor: str | None


def ticket_page(
    filters: TicketFilter, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Ticket]:
    """One page of matching tickets, newest first, with the cursor of the next page."""
    query = (
        select(Ticket)
        .where(*filters.conditions())
        .options(
            selectinload(Ticket.customer).selectinload(Customer.identities),
            selectinload(Ticket.assignee),
        )
    )
    return _page(query, Ticket, limit, cursor)


def customer_page(
    q: str = "", limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Customer]:
    """One page of customers whose name or identities hold every word of ``q``, newest first."""
    query = (
        select(Customer)
        .where(*(_word_in_customer(word) for word in _words(q)))
        .options(selectinload(Customer.identities))
    )
    return _page(query, Customer, limit, cursor)


def customer_tickets(customer_id: int) -> list[Ticket]:
    """Every ticket of one customer, newest first."""
    return list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.customer_id == customer_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .options(selectinload(Ticket.assignee))
        )
    )


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


# --- keyset pagination ------------------------------------------------------------------------


def _page(query: Select, model: type[Row], limit: int, cursor: str | None) -> Page[Row]:
    # Keyset rather than OFFSET: pages stay stable while new rows arrive at the top.
    if cursor:
        created_at, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(
                model.created_at < created_at,
                and_(model.created_at == created_at, model.id < last_id),
            )
        )
    rows = list(
        db.session.scalars(
            query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
        )
    )
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], _encode_cursor(last.created_at, last.id))


def _encode_cursor(created_at: datetime, row_id: int) -> str:
    raw = f"{created_at.astimezone(UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, row_id = raw.split("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return created_at, int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidFilter("cursor is not one this server handed out") from None


# --- parsing and matching ---------------------------------------------------------------------


def _enum_list(enum: type[E], value: str | None, name: str) -> tuple[E, ...]:
    """A comma-separated list of enum values; blank parts are ignored."""
    parts = [part.strip() for part in (value or "").split(",") if part.strip()]
    try:
        return tuple(enum(part) for part in parts)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidFilter(f"{name} must be one or more of {allowed}") from None


def _assignee(value: str | None, me: int) -> int | Literal["none"] | None:
    if value is None or value == "":
        return None
    if value == "me":
        return me
    if value == UNASSIGNED:
        return UNASSIGNED
    if not value.isdigit():
        raise InvalidFilter("assignee must be me, none or a user id")
    return int(value)


def _date(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidFilter(f"{name} must be a date as YYYY-MM-DD") from None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _words(q: str) -> list[str]:
    return [word.lower() for word in q.split()]


def _word_in_ticket(word: str) -> ColumnElement[bool]:
    # LIKE on lower() works alike on SQLite and PostgreSQL; autoescape keeps % and _ literal.
    in_messages = exists().where(
        Message.ticket_id == Ticket.id, func.lower(Message.text).contains(word, autoescape=True)
    )
    return or_(func.lower(Ticket.subject).contains(word, autoescape=True), in_messages)


def _word_in_customer(word: str) -> ColumnElement[bool]:
    in_identities = exists().where(
        CustomerIdentity.customer_id == Customer.id,
        func.lower(CustomerIdentity.value).contains(word, autoescape=True),
    )
    return or_(func.lower(Customer.name).contains(word, autoescape=True), in_identities)
