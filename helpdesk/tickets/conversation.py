"""The conversation on a ticket: agents' replies and notes, automatic answers and the links that
verify a claimed address."""

from __future__ import annotations

from datetime import datetime

from channels.base import Channel
from channels.sms import MAX_BODY as SMS_MAX_BODY
from helpdesk.chat import events as chat_events
from helpdesk.extensions import db
from helpdesk.models import DeliveryState, Direction, Message, Ticket, TicketStatus, User, utcnow
from helpdesk.tickets import identity_claims, sla
from helpdesk.tickets.copies import copied_on_reply
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.events import _excerpt, _record
from helpdesk.tickets.outbound import IN_TRASH, _queue_outbound, delivery_block, reply_block
from helpdesk.tickets.properties import _change_status

# What one reply may hold on each channel (DESIGN.md): Twilio's ceiling for a text, a chat
# bubble a person still reads, and a mail no server refuses. A note is never sent, but it is
# read on the ticket page: it may be as long as a mail.
REPLY_LIMITS = {Channel.EMAIL: 100_000, Channel.SMS: SMS_MAX_BODY, Channel.CHAT: 5_000}
NOTE_LIMIT = REPLY_LIMITS[Channel.EMAIL]
# And the files it may carry, all together (Twilio takes 5 MB and 10 files to a message).
MB = 1024 * 1024
FILE_LIMITS = {Channel.EMAIL: 25 * MB, Channel.SMS: 5 * MB, Channel.CHAT: 10 * MB}
SMS_MAX_FILES = 10
_CHANNEL_WORDS = {Channel.EMAIL: "an email", Channel.SMS: "a text message", Channel.CHAT: "a chat"}


def reply(
    ticket: Ticket,
    author: User,
    text: str,
    *,
    html: str | None = None,
    attachments=(),
    cc: list[str] | None = None,
    cc_shown: list[str] | None = None,
    at: datetime | None = None,
) -> Message:
    """Queue a public reply on the ticket's channel; the worker sends it after commit.

    An email reply copies the ticket's Cc, or ``cc`` when given (which becomes the ticket's;
    ``cc_shown`` is the Cc the writer's page showed, see ``copies.copied_on_reply``).
    """
    text = _required_text(text)
    blocked = reply_block(ticket)
    if blocked:
        raise TicketError(blocked)
    _check_length(text, REPLY_LIMITS[ticket.channel], f"{_CHANNEL_WORDS[ticket.channel]} reply")
    _check_files(attachments, ticket.channel)
    at = at or utcnow()
    copied = copied_on_reply(ticket, author, cc, at, cc_shown)
    message = _queue_outbound(
        ticket, author, text, "agent reply", at, html=html, attachments=attachments
    )
    if message.channel == Channel.EMAIL:
        message.cc = copied
    # A conversation we started has no first response until the customer answered it.
    if ticket.first_response_at is None and (start := sla.first_response_start(ticket)):
        ticket.first_response_at = at
        ticket.first_response_seconds = max(0, int((at - start).total_seconds()))
        sla.note_progress(ticket, at)
    if ticket.status == TicketStatus.NEW:
        _change_status(ticket, author, TicketStatus.OPEN, at)
    _record(ticket, author, "reply", None, _excerpt(text), at)
    ticket.updated_at = at
    db.session.flush()
    return message


def _check_files(attachments, channel: Channel) -> None:
    limit = FILE_LIMITS[channel]
    total = sum(len(item.data) for item in attachments)
    if total > limit:
        raise InvalidInput(
            f"{_CHANNEL_WORDS[channel]} reply can carry at most {limit // MB} MB of files; "
            f"these are {total / MB:.1f} MB"
        )
    if channel == Channel.SMS and len(attachments) > SMS_MAX_FILES:
        raise InvalidInput(f"a text message can carry at most {SMS_MAX_FILES} files")


def _check_length(text: str, limit: int, what: str) -> None:
    if len(text) > limit:
        raise InvalidInput(
            f"{what} can hold at most {limit:,} characters; this one has {len(text):,}: "
            "shorten it or send it in parts"
        )


def retry_delivery(message: Message, actor: User, *, at: datetime | None = None) -> Message:
    """Queue a failed message again: the same row (an email keeps its Message-ID, so mail
    clients fold a copy), a fresh attempt count, the earlier attempts kept in its log."""
    if message.direction != Direction.OUTBOUND or message.delivery_state != DeliveryState.FAILED:
        raise TicketError("only a message that failed to go out can be sent again")
    if (blocked := delivery_block(message)) is not None:
        raise TicketError(blocked)
    at = at or utcnow()
    failure = f"{message.error_code}: {message.error_text}" if message.error_code else None
    message.delivery_state = DeliveryState.QUEUED
    message.attempt_count = 0
    message.next_attempt_at = at
    message.lease_until = None
    message.error_code = message.error_text = None
    _record(message.ticket, actor, "retry", failure, f"message {message.id}", at)
    db.session.flush()
    return message


def send_automatic(ticket: Ticket, to: str, text: str, *, at: datetime | None = None) -> Message:
    """Queue an automatic answer (an acknowledgement): no author, never a first response."""
    at = at or utcnow()
    message = _queue_outbound(ticket, None, text, "automatic answer", at, automatic=True, to=to)
    _record(ticket, None, "automatic-answer", None, f"to {to}", at)
    db.session.flush()
    return message


def send_verification_link(
    ticket: Ticket, identity_id: int, actor: User, *, at: datetime | None = None
) -> Message:
    """Email a signed link to an address the ticket's customer claimed; opening it proves it.

    Automatic (never a response) and by email whatever the ticket's channel: a chat visitor
    never sees it, or they could prove an address they do not own.
    """
    claim, mailbox = identity_claims.verifiable(ticket, identity_id)
    at = at or utcnow()
    subject, text = identity_claims.link_mail(claim, ticket)
    route = (Channel.EMAIL, mailbox, claim.value)
    message = _queue_outbound(
        ticket,
        None,
        text,
        identity_claims.LINK_REASON,
        at,
        automatic=True,
        route=route,
        subject=subject,
    )
    _record(ticket, actor, "verification-link", None, claim.value, at)
    db.session.flush()
    return message


def add_note(ticket: Ticket, author: User, text: str, *, at: datetime | None = None) -> Message:
    """An internal note: never sent, never counts as a response."""
    text = _required_text(text)
    if ticket.merged_into is not None:
        raise TicketError(
            f"#{ticket.number} was merged into #{ticket.merged_into.number}: add the note there"
        )
    if ticket.deleted_at is not None:
        raise TicketError(IN_TRASH.format(number=ticket.number))
    _check_length(text, NOTE_LIMIT, "a note")
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
    # Notes stay inside the team: the agents' pages show them, a chat visitor never does.
    chat_events.announce_message(note, to_visitor=False)
    _record(ticket, author, "note", None, _excerpt(text), at)
    ticket.updated_at = at
    db.session.flush()
    return note


def _required_text(text: str | None) -> str:
    if text is None or not text.strip():
        raise InvalidInput("text must not be empty")
    return text.strip()
