"""Webhook events, found by the session in what each transaction changed and written to the
outbox in that same transaction, so a committed change always has its event and a rolled-back
one never does.

Ticket changes are read from the ticket events every path already records (web, API, bulk,
worker, CLI), messages from new message rows, delivery reports from a message's state, and
customer merges and erasures from their audit rows: no service has to remember to call us.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, object_session

from helpdesk.models import (
    AuditEvent,
    Message,
    Survey,
    TicketEvent,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)

# Ticket event kinds that are a property changing, by the field the payload names.
_PROPERTIES = {
    "status": "status",
    "reopened": "status",
    "solved": "status",
    "priority": "priority",
    "stage": "stage",
    "assignee": "assignee",
    "team": "team",
    "tag": "tags",
    "cc": "cc",
    "customer": "customer",
    "spam": "spam",
    "deleted": "deleted",
}
_SURVEY_KINDS = frozenset({"csat", "nps"})
_PENDING = "helpdesk webhook events pending"


@dataclass(slots=True)
class PendingEvent:
    """An event noticed in a flush; its payload is built at commit, when every id is known."""

    type: str
    data: Callable[[], dict[str, Any]]
    ticket_id: Callable[[], int | None]
    customer_id: Callable[[], int | None] = lambda: None


def emit(
    session: Session,
    type_: str,
    data: dict[str, Any],
    *,
    ticket_id: int | None = None,
    customer_id: int | None = None,
) -> str:
    """Queue one event for every endpoint subscribed to it, in ``session``; returns its id."""
    event_id = f"msg_{uuid.uuid4().hex}"
    now = utcnow()
    payload = {"type": type_, "id": event_id, "timestamp": now.isoformat(), "data": data}
    for endpoint in _subscribed(session, type_):
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id=event_id,
                event_type=type_,
                ticket_id=ticket_id,
                customer_id=customer_id,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return event_id


def _subscribed(session: Session, type_: str) -> list[WebhookEndpoint]:
    endpoints = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
    ).all()
    return [endpoint for endpoint in endpoints if type_ in endpoint.events]


def _ticket_json(ticket: Any) -> dict[str, Any]:
    # The API's schemas load only once an endpoint subscribes: a command without the web layer
    # (the mailbox fetch) starts without them.
    from helpdesk.web.api import schemas

    return schemas.TicketSummary.model_validate(ticket).model_dump(mode="json", by_alias=True)


def _message_json(message: Message) -> dict[str, Any]:
    from helpdesk.web.api import schemas

    return schemas.Message.model_validate(message).model_dump(mode="json", by_alias=True)


def _from_ticket_events(events: list[TicketEvent]) -> list[PendingEvent]:
    """One ``ticket.updated`` per ticket per flush (its changed fields together), and one event
    for each creation, merge, split and survey answer."""
    found: list[PendingEvent] = []
    changes: dict[int, tuple[Any, dict[str, dict[str, Any]]]] = {}
    for row in events:
        ticket = row.ticket
        if row.kind == "created":
            found.append(_about_ticket("ticket.created", ticket, {}))
        elif row.kind == "merged-into":
            found.append(_about_ticket("ticket.merged", ticket, {"into": row.to_value}))
        elif row.kind == "split-from":
            found.append(_about_split(ticket))
        elif row.kind in _SURVEY_KINDS:
            found.append(_about_survey(ticket))
        elif field := _PROPERTIES.get(row.kind):
            _, fields = changes.setdefault(id(ticket), (ticket, {}))
            fields.setdefault(field, {"before": row.from_value})["after"] = row.to_value
    for ticket, fields in changes.values():
        found.append(_about_ticket("ticket.updated", ticket, {"changes": fields}))
    return found


def _about_ticket(type_: str, ticket: Any, extra: dict[str, Any]) -> PendingEvent:
    return PendingEvent(
        type_,
        lambda: {"ticket": _ticket_json(ticket), **extra},
        lambda: ticket.id,
        lambda: ticket.customer_id,
    )


def _about_split(part: Any) -> PendingEvent:
    # Told about the ticket split, in its order, with the new ticket the messages went to.
    return PendingEvent(
        "ticket.split",
        lambda: {"ticket": _ticket_json(part.split_from), "part": _ticket_json(part)},
        lambda: part.split_from_id,
        lambda: part.customer_id,
    )


def _about_survey(ticket: Any) -> PendingEvent:
    def data() -> dict[str, Any]:
        session = object_session(ticket)
        survey = session.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
        answer = {
            "kind": survey.kind.value,
            "score": survey.score,
            "comment": survey.comment,
            "answered_at": survey.answered_at.isoformat(),
        }
        return {"ticket": _ticket_json(ticket), "survey": answer}

    return PendingEvent("survey.answered", data, lambda: ticket.id, lambda: ticket.customer_id)


def _about_message(type_: str, message: Message) -> PendingEvent:
    return PendingEvent(
        type_,
        lambda: {"ticket_id": message.ticket_id, "message": _message_json(message)},
        lambda: message.ticket_id,
        lambda: message.ticket.customer_id,
    )


def _about_customer(row: AuditEvent) -> PendingEvent:
    # An erasure's event names the customer only: its payload must hold nothing personal.
    data = {"customer_id": int(row.target_id or 0)}
    if row.action == "customer.merged" and row.after:
        data["merged"] = row.after.get("merged")
        data["tickets"] = row.after.get("tickets", [])
    return PendingEvent(row.action, lambda: data, lambda: None, lambda: data["customer_id"])


@event.listens_for(Session, "before_flush")
def _notice(session: Session, flush_context: Any, instances: Any) -> None:
    pending: list[PendingEvent] = session.info.setdefault(_PENDING, [])
    ticket_events = [obj for obj in session.new if isinstance(obj, TicketEvent)]
    ticket_events.sort(key=lambda row: row.created_at or utcnow())
    pending.extend(_from_ticket_events(ticket_events))
    for obj in session.new:
        if isinstance(obj, Message):
            pending.append(_about_message("message.created", obj))
        elif isinstance(obj, AuditEvent) and obj.action in ("customer.merged", "customer.erased"):
            pending.append(_about_customer(obj))
    for obj in session.dirty:
        if isinstance(obj, Message) and inspect(obj).attrs.delivery_state.history.has_changes():
            pending.append(_about_message("message.delivery", obj))


@event.listens_for(Session, "before_commit")
def _write_outbox(session: Session) -> None:
    if not session.info.get(_PENDING):
        return
    session.flush()
    pending = session.info.pop(_PENDING, [])
    if not _subscribed_types(session):
        return
    for found in pending:
        emit(
            session,
            found.type,
            found.data(),
            ticket_id=found.ticket_id(),
            customer_id=found.customer_id(),
        )


# True when some endpoint may want events: a writer without the ORM reads it with what it
# reads anyway, and asks what they subscribe to only then.
ANY_ENDPOINT_ENABLED = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True)).exists()


def emit_message_created(session: Session, message_id: int) -> None:
    """``message.created`` for a message written without the ORM, when anyone subscribes to
    it: what the flush of a new message row would have noticed."""
    if "message.created" not in _subscribed_types(session):
        return
    found = _about_message("message.created", session.get(Message, message_id))
    emit(
        session,
        found.type,
        found.data(),
        ticket_id=found.ticket_id(),
        customer_id=found.customer_id(),
    )


def _subscribed_types(session: Session) -> set[str]:
    rows = session.scalars(select(WebhookEndpoint.events).where(WebhookEndpoint.enabled))
    return {type_ for events in rows for type_ in events}


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
