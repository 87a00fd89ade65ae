"""Exporting a customer: everything held about them as one zip.

``customer.json`` holds the rows (the customer, identities, tickets with their messages, events
and survey, chat conversations with their events, SMS inbox items, mail log rows and the audit
entries about them); ``files/`` holds their attachments and raw emails from storage, each named
by its content hash (raw emails with ``.eml``), which the JSON refers to.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from datetime import datetime
from enum import Enum
from typing import Any

from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import Attachment, Customer, InboundEmail, Message
from helpdesk.privacy.holdings import Holdings, holdings_of
from helpdesk.storage import blob_store


def export_customer(customer: Customer) -> bytes:
    """The zip of everything held about ``customer``; audited (with counts only); flushes."""
    held = holdings_of(customer)
    files = _files(held)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        document = json.dumps(_document(held, set(files)), indent=2, ensure_ascii=False)
        archive.writestr("customer.json", document)
        for name, data in files.items():
            archive.writestr(name, data)
    audit.record(
        "customer.exported",
        "customer",
        customer.id,
        after={"tickets": len(held.tickets), "messages": len(held.messages), "files": len(files)},
    )
    db.session.flush()
    return buffer.getvalue()


def _files(held: Holdings) -> dict[str, bytes]:
    """Their stored files by name in the zip; a file missing from storage is left out."""
    wanted = {_attachment_file(a): a.storage_key for a in held.attachments if a.storage_key}
    raws = [*held.messages, *held.emails, *held.stray_emails]
    wanted.update({_raw_file(row): row.raw_ref for row in raws if row.raw_ref})
    store = blob_store()
    found = {}
    for name, key in wanted.items():
        try:
            found[name] = store.get(key)
        except KeyError:
            continue
    return found


def _attachment_file(attachment: Attachment) -> str:
    return f"files/{attachment.storage_key}"


def _raw_file(row: Message | InboundEmail) -> str:
    return f"files/{row.raw_ref}.eml"


def _document(held: Holdings, files: set[str]) -> dict[str, Any]:
    def file_of(name: str) -> str | None:
        return name if name in files else None

    attachments = defaultdict(list)
    for attachment in held.attachments:
        attachments[attachment.message_id].append(
            _plain(attachment, "id", "filename", "content_type", "size", "inline", "source_url")
            | {"file": file_of(_attachment_file(attachment)) if attachment.storage_key else None}
        )
    messages = defaultdict(list)
    for message in held.messages:
        messages[message.ticket_id].append(_message(message, attachments, file_of))
    events = defaultdict(list)
    for ticket_event in held.events:
        events[ticket_event.ticket_id].append(_event(ticket_event))
    surveys = {survey.ticket_id: survey for survey in held.surveys}
    chat_events = defaultdict(list)
    for chat_event in held.chat_events:
        chat_events[chat_event.conversation_id].append(
            _plain(chat_event, "id", "kind", "ticket_id", "data", "created_at")
        )
    return {
        "customer": _plain(held.customer, "id", "name", "notes", "created_at", "erased_at"),
        "merged_customers": [
            _plain(merged, "id", "name", "notes", "created_at") for merged in held.merged_customers
        ],
        "identities": [
            _plain(
                i,
                "id",
                "kind",
                "value",
                "verified_at",
                "created_at",
                "opted_out_at",
                "outreach_unsubscribed_at",
            )
            | {"opt_out_reason": i.opt_out_reason}
            for i in held.identities
        ],
        "tickets": [
            _ticket(ticket, messages, events, surveys.get(ticket.id)) for ticket in held.tickets
        ],
        "chat_conversations": [
            _plain(c, "id", "visitor_id", "name", "email", "host_user_id", "created_at")
            | {"site": c.endpoint.label, "events": chat_events.pop(c.id, [])}
            for c in held.conversations
        ],
        # Events of their chat tickets that name no conversation (the queue's "new chat").
        "chat_events": [event for found in chat_events.values() for event in found],
        "inbox_items": [
            _plain(item, "id", "channel", "external_id", "sender", "payload", "received_at")
            | _plain(item, "processed_at", "message_id", "error")
            for item in held.inbox_items
        ],
        "emails": [
            _plain(
                email, "id", "outcome", "reason", "message_id_header", "message_id", "created_at"
            )
            | {"raw": file_of(_raw_file(email))}
            for email in (*held.emails, *held.stray_emails)
        ],
        "audit_events": [
            _plain(row, "id", "at", "action", "target_type", "target_id", "before", "after")
            | {"actor": row.actor.email if row.actor else None}
            for row in held.audit_events
        ],
    }


def _ticket(ticket: Any, messages: dict, events: dict, survey: Any) -> dict[str, Any]:
    return (
        _plain(ticket, "id", "number", "subject", "status", "priority", "channel", "stage")
        | _plain(ticket, "intake_stage", "stage_reason", "created_at", "solved_at", "cc")
        | {
            "tags": [tag.name for tag in ticket.tags],
            "messages": messages.get(ticket.id, []),
            "events": events.get(ticket.id, []),
            "survey": _plain(survey, "score", "comment", "sent_at", "answered_at")
            if survey
            else None,
        }
    )


def _message(message: Message, attachments: dict, file_of: Any) -> dict[str, Any]:
    return (
        _plain(message, "id", "direction", "channel", "sender", "recipient", "subject", "text")
        | _plain(message, "folded_text", "html", "cc", "created_at", "delivery_state")
        | {
            "message_id": message.external_id,
            "author": message.author.email if message.author else None,
            "raw": file_of(_raw_file(message)) if message.raw_ref else None,
            "attachments": attachments.get(message.id, []),
        }
    )


def _event(ticket_event: Any) -> dict[str, Any]:
    return _plain(ticket_event, "kind", "from_value", "to_value", "created_at") | {
        "actor": ticket_event.actor.email if ticket_event.actor else None,
        "on_merged_ticket": ticket_event.merged_from_id,
    }


def _plain(row: Any, *names: str) -> dict[str, Any]:
    """Some columns of a row as JSON takes them: times in ISO 8601, enums as their values."""
    return {name: _json_value(getattr(row, name)) for name in names}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
