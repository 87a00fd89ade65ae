"""The ticket's events: who changed what on it and when, from what to what."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from helpdesk.extensions import db
from helpdesk.models import Ticket, TicketEvent, User, utcnow

# Subjects, reasons and event values alike are kept to the size of their columns.
SUBJECT_LENGTH = 300
_GATHERING = "helpdesk gathering ticket changes"


def record_event(
    ticket: Ticket, kind: str, after: str | None, *, at: datetime | None = None
) -> None:
    """Write a system event (no actor) to the ticket's audit trail."""
    _record(ticket, None, kind, None, after, at or utcnow())


def _record(
    ticket: Ticket,
    actor: User | None,
    kind: str,
    before: str | None,
    after: str | None,
    at: datetime,
) -> None:
    # Set from the event's side, so a ticket's events are not all loaded to add one.
    event = TicketEvent(
        ticket=ticket,
        actor=actor,
        kind=kind,
        from_value=before[:SUBJECT_LENGTH] if before else before,
        to_value=after[:SUBJECT_LENGTH] if after else after,
        created_at=at,
    )
    db.session.add(event)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 120 else flat[:119] + "…"


@contextmanager
def gathered() -> Iterator[None]:
    """Write the changes made inside in one flush at the end rather than one flush each: a bulk
    change makes several changes to each of many tickets, and a flush costs the same for one
    change as for several."""
    db.session.info[_GATHERING] = True
    try:
        yield
    finally:
        db.session.info.pop(_GATHERING, None)
    db.session.flush()


def _flush() -> None:
    """Flush a change now (the caller reads ids and constraints at once), unless gathered."""
    if not db.session.info.get(_GATHERING):
        db.session.flush()
