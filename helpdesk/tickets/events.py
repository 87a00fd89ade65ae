"""The ticket's events: who changed what on it and when, from what to what."""

from __future__ import annotations

from datetime import datetime

from helpdesk.extensions import db
from helpdesk.models import Ticket, TicketEvent, User, utcnow

# Subjects, reasons and event values alike are kept to the size of their columns.
SUBJECT_LENGTH = 300


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
