"""Models to the JSON shapes the OpenAPI document describes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from helpdesk.models import (
    Attachment,
    Customer,
    CustomerIdentity,
    Message,
    Ticket,
    TicketEvent,
    User,
)
from helpdesk.tickets import service
from helpdesk.tickets.queries import Page

Json = dict[str, Any]


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def page_json(page: Page, item: Callable[[Any], Json]) -> Json:
    """A list response: the items and the cursor of the next page (null on the last)."""
    return {"items": [item(row) for row in page.items], "next_cursor": page.next_cursor}


def user_ref(user: User | None) -> Json | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "email": user.email}


def identity_json(identity: CustomerIdentity) -> Json:
    return {
        "kind": identity.kind.value,
        "value": identity.value,
        "verified": identity.verified,
        "opted_out_at": timestamp(identity.opted_out_at),
        "opt_out_reason": identity.opt_out_reason,
    }


def ticket_summary(ticket: Ticket) -> Json:
    """The ticket as lists show it."""
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "channel": ticket.channel.value,
        "stage": ticket.stage.value,
        "stage_source": ticket.stage_source.value,
        "customer": {"id": ticket.customer.id, "name": ticket.customer.display_name},
        "assignee": user_ref(ticket.assignee),
        "created_at": timestamp(ticket.created_at),
        "updated_at": timestamp(ticket.updated_at),
        "version": ticket.version,
    }


def ticket_detail(ticket: Ticket) -> Json:
    """The whole ticket: how it was tagged, its customer, messages and audit trail."""
    previous = ticket.previous_ticket
    return {
        **ticket_summary(ticket),
        "endpoint": ticket.endpoint.address,
        "intake_stage": ticket.intake_stage.value,
        "intake_rule": ticket.intake_rule,
        "stage_reason": ticket.stage_reason,
        "customer": customer_summary(ticket.customer),
        "previous_ticket": {"id": previous.id, "number": previous.number} if previous else None,
        "first_response_at": timestamp(ticket.first_response_at),
        "solved_at": timestamp(ticket.solved_at),
        "reply_blocked": service.reply_block(ticket),
        "messages": [message_json(message) for message in ticket.messages],
        "events": [event_json(event) for event in ticket.events],
    }


def message_json(message: Message) -> Json:
    return {
        "id": message.id,
        "direction": message.direction.value,
        "channel": message.channel.value,
        "author": user_ref(message.author),
        "sender": message.sender,
        "recipient": message.recipient,
        "text": message.text,
        "folded_text": message.folded_text,
        "html": message.html,
        "auto_submitted": message.auto_submitted,
        "external_id": message.external_id,
        "delivery_state": message.delivery_state.value if message.delivery_state else None,
        "error_code": message.error_code,
        "error_text": message.error_text,
        "thread_reason": message.thread_reason,
        "created_at": timestamp(message.created_at),
        "attachments": [attachment_json(attachment) for attachment in message.attachments],
    }


def attachment_json(attachment: Attachment) -> Json:
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "stored": attachment.stored,
        "fetch_error": attachment.fetch_error,
        "content_id": attachment.content_id,
        "inline": attachment.inline,
    }


def event_json(event: TicketEvent) -> Json:
    return {
        "kind": event.kind,
        "actor": user_ref(event.actor),
        "from": event.from_value,
        "to": event.to_value,
        "created_at": timestamp(event.created_at),
    }


def customer_summary(customer: Customer) -> Json:
    """The customer as lists show them; ``name`` falls back to their first identity."""
    return {
        "id": customer.id,
        "name": customer.display_name,
        "created_at": timestamp(customer.created_at),
        "identities": [identity_json(identity) for identity in customer.identities],
    }


def customer_detail(customer: Customer, tickets: list[Ticket]) -> Json:
    """The customer with every ticket of theirs, newest first."""
    return {**customer_summary(customer), "tickets": [ticket_summary(t) for t in tickets]}
