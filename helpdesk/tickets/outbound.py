"""Outbound messages: queued for the worker, routed to their channel and recipient, and held
back from a number that opted out."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import BindParameter, ColumnElement, Select, select

from channels.base import Channel, DeliveryError
from helpdesk.chat import events as chat_events
from helpdesk.chat import presence as chat_presence
from helpdesk.chat import sites as chat_sites
from helpdesk.extensions import db
from helpdesk.models import (
    ChatConversation,
    CustomerIdentity,
    DeliveryState,
    Direction,
    Endpoint,
    IdentityKind,
    Message,
    Ticket,
    User,
)
from helpdesk.tickets.attachments import _store_attachments
from helpdesk.tickets.customers import opted_out, phone_identity, set_opt_out
from helpdesk.tickets.events import _record
from helpdesk.tickets.message_ids import new_message_id


def _queue_outbound(
    ticket: Ticket,
    author: User | None,
    text: str,
    reason: str,
    at: datetime,
    *,
    html: str | None = None,
    automatic: bool = False,
    to: str | None = None,
    route: tuple[Channel, Endpoint, str] | None = None,
    subject: str | None = None,
    attachments=(),
) -> Message:
    channel, endpoint, recipient = route or _reply_route(ticket)
    by_email = channel == Channel.EMAIL
    message = Message(
        ticket=ticket,
        direction=Direction.OUTBOUND,
        channel=channel,
        endpoint=endpoint,
        author=author,
        sender=endpoint.address,
        recipient=to or recipient,
        subject=(subject or _reply_subject(ticket)) if by_email else None,
        text=text,
        html=html,
        external_id=_new_message_id(ticket) if by_email else None,
        # Automatic messages (the survey question, an acknowledgement) are marked so they never
        # count as a response and so email carries Auto-Submitted, keeping autoresponders quiet.
        auto_submitted=automatic,
        thread_reason=reason,
        # A chat reply is delivered by the event committed with it: the visitor's widget
        # reads it from the event log, so no worker hop (and no retry) stands in between.
        delivery_state=DeliveryState.DELIVERED if channel == Channel.CHAT else DeliveryState.QUEUED,
        next_attempt_at=None if channel == Channel.CHAT else at,
        created_at=at,
        # Known empty, so the live event's list of files needs no read after the flush.
        attachments=[],
    )
    db.session.add(message)
    _store_attachments(message, attachments)
    # The ticket's live pages show every reply, and the widget every reply on a chat, also one
    # sent by email, should the visitor come back; a message routed to one address (a
    # verification link) is for that address alone.
    if route is None:
        chat_events.announce_message(message, to_visitor=ticket.channel == Channel.CHAT)
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


def _reply_recipient(ticket: Ticket) -> str | None:
    """Answer whoever wrote last on this ticket, else the customer's identity for the channel.

    Never someone who wrote without being on the ticket (``Message.from_outsider``): an agent
    may add them to the Cc. Nor the customer of a ticket merged into this one: they are offered
    as Cc (email), and never texted or mailed in the ticket's customer's place.
    """
    if ticket.id is None:
        # Compared as objects, so a ticket not yet flushed is compared after the autoflush.
        senders = _senders(Message.ticket == ticket)
    else:
        senders = last_customer_sender(ticket.id)
    last_sender = db.session.scalar(senders)
    if last_sender:
        return last_sender
    kind = {
        Channel.EMAIL: IdentityKind.EMAIL,
        Channel.SMS: IdentityKind.PHONE,
        Channel.CHAT: IdentityKind.VISITOR,
    }[ticket.channel]
    return ticket.customer.identity(kind)


def last_customer_sender(ticket_id: int | BindParameter[int]) -> Select:
    """Who wrote last on a stored ticket, as ``_reply_recipient`` answers them (the customers
    of tickets merged into it left out): a query of one value, for a reader that asks it
    together with other questions."""
    others = select(CustomerIdentity.value).where(
        CustomerIdentity.customer_id.in_(_merged_in_customers(ticket_id))
    )
    return _senders(Message.ticket_id == ticket_id).where(Message.sender.not_in(others))


def _senders(on_ticket: ColumnElement[bool]) -> Select:
    return (
        select(Message.sender)
        .where(
            on_ticket,
            Message.direction == Direction.INBOUND,
            Message.auto_submitted.is_(False),
            Message.from_outsider.is_(False),
            Message.sender.is_not(None),
            Message.sender != "",
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )


def _merged_in_customers(ticket_id: int | BindParameter[int]) -> Select:
    """The customers, other than its own, of the tickets merged into this one at any remove:
    a subquery, so a reply's recipient is found in one round trip."""
    merged = (
        select(Ticket.id, Ticket.customer_id)
        .where(Ticket.merged_into_id == ticket_id)
        .cte("merged_in", recursive=True)
    )
    # UNION, not UNION ALL: the walk ends even on a loop of merges.
    merged = merged.union(
        select(Ticket.id, Ticket.customer_id).where(Ticket.merged_into_id == merged.c.id)
    )
    # The ticket's customer as stored when the query runs (after the autoflush), not as read now.
    own = select(Ticket.customer_id).where(Ticket.id == ticket_id).scalar_subquery()
    return select(merged.c.customer_id).where(merged.c.customer_id != own)


def _reply_subject(ticket: Ticket) -> str:
    subject = ticket.subject
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    token = f"[#{ticket.number}]"
    return subject if token in subject else f"{subject} {token}"


def _new_message_id(ticket: Ticket) -> str:
    host = urlsplit(current_app.config["HELPDESK_PUBLIC_URL"]).hostname or "helpdesk.invalid"
    return new_message_id(ticket.number, host)


# An erased customer has no address or number left, and asked to be forgotten.
ERASED_RECIPIENT = "the customer was erased: nothing can be sent to them"
IN_TRASH = "#{number} was deleted and is in the trash: nothing can be written on it"


def reply_block(ticket: Ticket) -> str | None:
    """Why no public reply can go out on this ticket right now; None when one can."""
    if ticket.merged_into is not None:
        return f"#{ticket.number} was merged into #{ticket.merged_into.number}: reply there"
    if ticket.deleted_at is not None:
        return IN_TRASH.format(number=ticket.number)
    if ticket.customer.erased_at is not None:
        return ERASED_RECIPIENT
    if ticket.channel != Channel.SMS:
        return None  # only a text recipient can opt out
    return _recipient_block(ticket.channel, _reply_recipient(ticket))


def delivery_block(message: Message) -> str | None:
    """Why a queued message must not be sent after all; None when it may."""
    if message.ticket.customer.erased_at is not None:
        return ERASED_RECIPIENT
    return _recipient_block(message.channel, message.recipient)


def _recipient_block(channel: Channel, recipient: str | None) -> str | None:
    if channel != Channel.SMS:
        return None
    identity = opted_out(recipient)
    if identity is None:
        return None
    return (
        f"{identity.value} opted out of text messages on "
        f"{identity.opted_out_at:%Y-%m-%d %H:%M} UTC ({identity.opt_out_reason}); "
        "nothing can be sent to it until the customer texts START"
    )


def recipient_opted_out(message: Message, error: DeliveryError, at: datetime) -> None:
    """The provider refused a send because the number unsubscribed: never text it again."""
    identity = phone_identity(message.recipient or "")
    reason = f"Twilio refused to text it (error {error.code}: {error.text})"
    if identity is not None and set_opt_out(identity, reason, at):
        _record(message.ticket, None, "sms-opt-out", identity.value, reason, at)


def reply_destination(ticket: Ticket) -> str | None:
    """Where a reply on this ticket would go now: an address, a number or a chat visitor."""
    return _reply_route(ticket)[2]
