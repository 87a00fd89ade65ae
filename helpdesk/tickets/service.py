"""The ticket service: the only place that decides what happens to a ticket.

Every function flushes and never commits: the request, CLI command or job commits once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from channels.base import Channel, InboundMessage
from helpdesk import counters
from helpdesk.chat import events as chat_events
from helpdesk.chat import presence as chat_presence
from helpdesk.chat import sites as chat_sites
from helpdesk.extensions import db
from helpdesk.models import (
    Attachment,
    ChatConversation,
    DeliveryState,
    Direction,
    Endpoint,
    IdentityKind,
    Message,
    Priority,
    Stage,
    StageSource,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.storage import blob_store
from helpdesk.tickets.customers import normalize_email, normalize_phone, resolve_customer
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.stages import decide, ordered_rules
from helpdesk.tickets.threading import ThreadMatch, find_thread

SUBJECT_LENGTH = 300
_CLOSED_FOR_CUSTOMERS = (TicketStatus.SOLVED, TicketStatus.CLOSED)


# --- intake -----------------------------------------------------------------------------------


def receive(msg: InboundMessage) -> Message | None:
    """Attach an inbound message to its ticket; None when it was already stored."""
    endpoint = endpoint_for(msg.channel, msg.endpoint)
    if _already_stored(msg, endpoint):
        return None
    at = msg.received_at or utcnow()
    try:
        with db.session.begin_nested():
            customer = resolve_customer(msg)
            match = find_thread(msg, customer, endpoint)
            ticket, reason = _ticket_for(msg, match, customer, endpoint, at)
            message = _store_inbound(msg, ticket, endpoint, reason, at)
            db.session.flush()
            if msg.channel == Channel.CHAT:
                _announce_chat(message, new_ticket=match is None or ticket is not match.ticket)
    except IntegrityError:
        # Another process stored the same message a moment ago: replaying changes nothing.
        if _already_stored(msg, endpoint):
            return None
        raise
    return message


def endpoint_for(channel: Channel, address: str) -> Endpoint:
    """The endpoint a message arrived at, registered on first sight so nothing is refused."""
    address = _endpoint_address(channel, address)
    endpoint = db.session.scalar(
        select(Endpoint).where(Endpoint.channel == channel, Endpoint.address == address)
    )
    if endpoint is None:
        endpoint = Endpoint(channel=channel, address=address, settings={})
        db.session.add(endpoint)
        db.session.flush()
    return endpoint


def _endpoint_address(channel: Channel, address: str) -> str:
    address = address.strip()
    if channel == Channel.EMAIL:
        return normalize_email(address)
    if channel == Channel.SMS and address.startswith("+"):
        return normalize_phone(address)
    # Messaging Service SIDs and chat site keys are case-sensitive identifiers.
    return address


def _already_stored(msg: InboundMessage, endpoint: Endpoint) -> bool:
    return (
        db.session.scalar(
            select(Message.id).where(
                Message.direction == Direction.INBOUND,
                Message.channel == msg.channel,
                Message.endpoint_id == endpoint.id,
                Message.external_id == msg.external_id,
            )
        )
        is not None
    )


def _announce_chat(message: Message, *, new_ticket: bool) -> None:
    # Live views learn of it from the event log, written in this same transaction.
    if new_ticket:
        chat_events.publish_new_ticket(message.ticket)
    chat_events.publish_message(message)


def _ticket_for(
    msg: InboundMessage,
    match: ThreadMatch | None,
    customer,
    endpoint: Endpoint,
    at: datetime,
) -> tuple[Ticket, str]:
    """Apply the reopen policy to the matched ticket, or open a new one."""
    if match is None:
        return _open_ticket(msg, customer, endpoint, at), "new request"
    ticket = match.ticket
    if msg.auto_submitted:
        # An out-of-office or bounce is kept on its thread but never reopens or starts anything.
        return ticket, f"{match.reason} (automatic message)"
    if ticket.status == TicketStatus.CLOSED or (
        ticket.status == TicketStatus.SOLVED and not _within_reopen_window(ticket, at)
    ):
        follow_up = _open_ticket(msg, customer, endpoint, at, previous=ticket)
        why = "closed" if ticket.status == TicketStatus.CLOSED else "solved too long ago to reopen"
        return follow_up, f"{match.reason}; #{ticket.number} is {why}, so a follow-up was opened"
    if ticket.status == TicketStatus.SOLVED:
        _change_status(ticket, None, TicketStatus.OPEN, at, kind="reopened")
    elif ticket.status == TicketStatus.PENDING:
        _change_status(ticket, None, TicketStatus.OPEN, at)
    return ticket, match.reason


def _within_reopen_window(ticket: Ticket, at: datetime) -> bool:
    days = current_app.config["HELPDESK_REOPEN_DAYS"]
    solved_at = ticket.solved_at or ticket.updated_at
    return at - solved_at <= timedelta(days=days)


def _open_ticket(
    msg: InboundMessage,
    customer,
    endpoint: Endpoint,
    at: datetime,
    previous: Ticket | None = None,
) -> Ticket:
    decision = decide(msg, endpoint, ordered_rules())
    ticket = Ticket(
        number=next_ticket_number(),
        subject=_subject_of(msg),
        status=TicketStatus.NEW,
        priority=Priority.NORMAL,
        channel=msg.channel,
        endpoint=endpoint,
        conversation_id=msg.conversation_id,
        stage=decision.stage,
        intake_stage=decision.stage,
        intake_rule=decision.rule,
        stage_source=decision.source,
        stage_reason=decision.reason[:SUBJECT_LENGTH],
        customer=customer,
        previous_ticket=previous,
        created_at=at,
        updated_at=at,
    )
    db.session.add(ticket)
    _record(ticket, None, "created", None, f"{decision.stage.value}: {decision.reason}", at)
    return ticket


def _subject_of(msg: InboundMessage) -> str:
    if msg.subject and msg.subject.strip():
        return msg.subject.strip()[:SUBJECT_LENGTH]
    text = " ".join((msg.text or "").split())
    if not text:
        return f"{msg.channel.value} message from {msg.sender_name or msg.sender}"
    return text if len(text) <= 80 else text[:79] + "…"


def next_ticket_number() -> int:
    """The next human ticket number; the row lock serialises concurrent intake on PostgreSQL."""
    return counters.next_value("ticket")


def _store_inbound(
    msg: InboundMessage, ticket: Ticket, endpoint: Endpoint, reason: str, at: datetime
) -> Message:
    message = Message(
        ticket=ticket,
        direction=Direction.INBOUND,
        channel=msg.channel,
        endpoint=endpoint,
        sender=msg.sender,
        recipient=msg.recipient,
        subject=msg.subject,
        text=msg.text or "",
        html=msg.html,
        external_id=msg.external_id,
        raw_ref=msg.raw_ref,
        auto_submitted=msg.auto_submitted,
        thread_reason=reason[:SUBJECT_LENGTH],
        created_at=at,
    )
    db.session.add(message)
    _store_attachments(message, msg.attachments)
    if not msg.auto_submitted:
        ticket.last_customer_message_at = at
    ticket.updated_at = max(ticket.updated_at, at)
    return message


def _store_attachments(message: Message, attachments) -> None:
    store = blob_store() if attachments else None
    for item in attachments:
        key = store.put(item.data)
        message.attachments.append(
            Attachment(
                filename=item.filename[:255] or "attachment",
                content_type=item.content_type[:120],
                size=len(item.data),
                storage_key=key,
            )
        )


# --- agent actions ----------------------------------------------------------------------------


def reply(
    ticket: Ticket,
    author: User,
    text: str,
    *,
    html: str | None = None,
    attachments=(),
    at: datetime | None = None,
) -> Message:
    """Queue a public reply on the ticket's channel; the worker sends it after commit."""
    text = _required_text(text)
    at = at or utcnow()
    channel, endpoint, recipient = _reply_route(ticket)
    by_email = channel == Channel.EMAIL
    message = Message(
        ticket=ticket,
        direction=Direction.OUTBOUND,
        channel=channel,
        endpoint=endpoint,
        author=author,
        sender=endpoint.address,
        recipient=recipient,
        subject=_reply_subject(ticket) if by_email else None,
        text=text,
        html=html,
        external_id=_new_message_id() if by_email else None,
        thread_reason="agent reply",
        # A chat reply is delivered by the event committed with it: the visitor's widget
        # reads it from the event log, so no worker hop (and no retry) stands in between.
        delivery_state=DeliveryState.DELIVERED if channel == Channel.CHAT else DeliveryState.QUEUED,
        next_attempt_at=None if channel == Channel.CHAT else at,
        created_at=at,
    )
    db.session.add(message)
    _store_attachments(message, attachments)
    if ticket.first_response_at is None:
        ticket.first_response_at = at
    if ticket.status == TicketStatus.NEW:
        _change_status(ticket, author, TicketStatus.OPEN, at)
    _record(ticket, author, "reply", None, _excerpt(text), at)
    ticket.updated_at = at
    db.session.flush()
    if ticket.channel == Channel.CHAT:
        chat_events.publish_message(message)
    return message


def _reply_route(ticket: Ticket) -> tuple[Channel, Endpoint, str | None]:
    """The channel, endpoint and recipient a reply goes out on."""
    if ticket.channel == Channel.CHAT and (by_email := _chat_email_route(ticket)):
        return by_email
    return ticket.channel, ticket.endpoint, _reply_recipient(ticket)


def _chat_email_route(ticket: Ticket) -> tuple[Channel, Endpoint, str] | None:
    """A visitor who left gets the reply by email through the site's mailbox (DESIGN.md)."""
    conversation = (
        db.session.get(ChatConversation, ticket.conversation_id) if ticket.conversation_id else None
    )
    if conversation is None or chat_presence.visitor_present(conversation):
        return None
    mailbox = chat_sites.mailbox_of(ticket.endpoint)
    email = conversation.email or ticket.customer.identity(IdentityKind.EMAIL)
    if mailbox is None or not email:
        # Nowhere else to reach them: the reply waits in the conversation for their return.
        return None
    return Channel.EMAIL, mailbox, email


def add_note(ticket: Ticket, author: User, text: str, *, at: datetime | None = None) -> Message:
    """An internal note: never sent, never counts as a response."""
    text = _required_text(text)
    at = at or utcnow()
    note = Message(
        ticket=ticket,
        direction=Direction.NOTE,
        channel=ticket.channel,
        endpoint=ticket.endpoint,
        author=author,
        text=text,
        thread_reason="internal note",
        created_at=at,
    )
    db.session.add(note)
    _record(ticket, author, "note", None, _excerpt(text), at)
    ticket.updated_at = at
    db.session.flush()
    return note


def assign(
    ticket: Ticket, actor: User | None, assignee: User | None, *, at: datetime | None = None
) -> None:
    """Give the ticket to an active agent, or to nobody."""
    if assignee is not None and not assignee.active:
        raise TicketError(f"{assignee.email} is deactivated and cannot take tickets")
    if ticket.assignee_id == (assignee.id if assignee else None):
        return
    at = at or utcnow()
    before = ticket.assignee.email if ticket.assignee else None
    ticket.assignee = assignee
    _record(ticket, actor, "assignee", before, assignee.email if assignee else None, at)
    ticket.updated_at = at
    db.session.flush()


def set_status(
    ticket: Ticket, actor: User | None, status: TicketStatus | str, *, at: datetime | None = None
) -> None:
    """Move the ticket to another status; solving stamps ``solved_at``."""
    status = _parse(TicketStatus, status, "status")
    if status == ticket.status:
        return
    _change_status(ticket, actor, status, at or utcnow())
    db.session.flush()


def set_priority(
    ticket: Ticket, actor: User | None, priority: Priority | str, *, at: datetime | None = None
) -> None:
    priority = _parse(Priority, priority, "priority")
    if priority == ticket.priority:
        return
    at = at or utcnow()
    _record(ticket, actor, "priority", ticket.priority.value, priority.value, at)
    ticket.priority = priority
    ticket.updated_at = at
    db.session.flush()


def set_stage(
    ticket: Ticket,
    actor: User | None,
    stage: Stage | str,
    *,
    source: StageSource = StageSource.AGENT,
    reason: str | None = None,
    at: datetime | None = None,
) -> None:
    """Correct the journey stage; intake_stage and intake_rule keep what inference said."""
    stage = _parse(Stage, stage, "stage")
    if stage == ticket.stage:
        return
    at = at or utcnow()
    who = actor.name if actor else "the system"
    _record(ticket, actor, "stage", ticket.stage.value, stage.value, at)
    ticket.stage = stage
    ticket.stage_source = source
    ticket.stage_reason = (reason or f"set by {who}")[:SUBJECT_LENGTH]
    ticket.updated_at = at
    db.session.flush()


# --- shared pieces ----------------------------------------------------------------------------


def _change_status(
    ticket: Ticket,
    actor: User | None,
    status: TicketStatus,
    at: datetime,
    kind: str = "status",
) -> None:
    _record(ticket, actor, kind, ticket.status.value, status.value, at)
    ticket.status = status
    if status == TicketStatus.SOLVED:
        ticket.solved_at = at
    elif status != TicketStatus.CLOSED:
        ticket.solved_at = None
    ticket.updated_at = at


def _record(
    ticket: Ticket,
    actor: User | None,
    kind: str,
    before: str | None,
    after: str | None,
    at: datetime,
) -> None:
    ticket.events.append(
        TicketEvent(
            actor=actor,
            kind=kind,
            from_value=before[:SUBJECT_LENGTH] if before else before,
            to_value=after[:SUBJECT_LENGTH] if after else after,
            created_at=at,
        )
    )


def _parse(enum, value, what: str):
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(f"unknown {what} {value!r}; use one of {allowed}") from None


def _required_text(text: str | None) -> str:
    if text is None or not text.strip():
        raise InvalidInput("text must not be empty")
    return text.strip()


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 120 else flat[:119] + "…"


def _reply_recipient(ticket: Ticket) -> str | None:
    """Answer whoever wrote last on this ticket, else the customer's identity for the channel."""
    for message in reversed(ticket.messages):
        if message.direction == Direction.INBOUND and not message.auto_submitted and message.sender:
            return message.sender
    kind = {
        Channel.EMAIL: IdentityKind.EMAIL,
        Channel.SMS: IdentityKind.PHONE,
        Channel.CHAT: IdentityKind.VISITOR,
    }[ticket.channel]
    return ticket.customer.identity(kind)


def _reply_subject(ticket: Ticket) -> str:
    subject = ticket.subject
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    token = f"[#{ticket.number}]"
    return subject if token in subject else f"{subject} {token}"


def _new_message_id() -> str:
    host = urlsplit(current_app.config["HELPDESK_PUBLIC_URL"]).hostname or "helpdesk.invalid"
    return f"<{uuid.uuid4().hex}@{host}>"
