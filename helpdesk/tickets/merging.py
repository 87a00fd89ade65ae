"""Merging a ticket into another, and splitting a ticket in two (DESIGN.md, "Merge.").

A merge moves the source's conversation (messages and their files) onto the target and copies
its events there, marked as the source's; the source ends closed with ``merged_into``, and
whatever would have threaded to it threads to the target (``threading.merge_chain``). A split
makes a new ticket of one message and those after it, linked both ways.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    Direction,
    IdentityKind,
    Message,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import search, sla, versions
from helpdesk.tickets.copies import _copy_in
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.events import SUBJECT_LENGTH, _excerpt, _record
from helpdesk.tickets.intake import next_ticket_number
from helpdesk.tickets.properties import _change_status, _seconds_since_creation

_WAITING = (TicketStatus.NEW, TicketStatus.OPEN)


class MergeRefused(TicketError):
    """A merge or split the rules refuse; the message says why (the API answers 409)."""


def merge(
    source: Ticket, target: Ticket, actor: User | None, *, at: datetime | None = None
) -> None:
    """Move the source's conversation onto the target and close the source as merged into it.

    The target keeps its number, customer, channel and stage. When the customers differ, the
    source customer's proven addresses are copied (Cc) on an email target; nobody else is
    ever texted or mailed in the target customer's place (``outbound._reply_recipient``).
    """
    at = at or utcnow()
    _lock(source, target)
    check_merge(source, target)
    moved = list(source.messages)
    for message in moved:
        message.ticket = target
    _copy_events(source, target)
    _offer_copies(source, target, actor, at)
    waiting = source.status in _WAITING
    if source.status != TicketStatus.CLOSED:
        _change_status(source, actor, TicketStatus.CLOSED, at)
    if waiting and target.status == TicketStatus.SOLVED:
        # The source's customer still waits for an answer: the work is not done.
        _change_status(target, actor, TicketStatus.OPEN, at, kind="reopened")
    target.last_customer_message_at = _latest(
        target.last_customer_message_at, source.last_customer_message_at
    )
    source.last_customer_message_at = None
    source.merged_into = target
    _record(target, actor, "merged-from", None, f"#{source.number}", at)
    _record(source, actor, "merged-into", None, f"#{target.number}", at)
    source.updated_at = target.updated_at = at
    db.session.flush()
    search.index_moved(db.session.connection(), moved)
    # The collections were moved item by item: read them again, in their order.
    db.session.expire(target, ["messages", "events"])
    db.session.expire(source, ["messages"])


def split(
    ticket: Ticket, message: Message, actor: User | None, *, at: datetime | None = None
) -> Ticket:
    """Make a new ticket of ``message`` and those after it: same customer, channel, stage,
    endpoint, conversation, team and assignee, linked both ways; returns the new ticket."""
    at = at or utcnow()
    _lock(ticket)
    kept, moved = split_parts(ticket, message)
    part = Ticket(
        number=next_ticket_number(),
        subject=_split_subject(ticket, message),
        status=TicketStatus.OPEN if _first_reply(moved) else TicketStatus.NEW,
        priority=ticket.priority,
        channel=ticket.channel,
        endpoint=ticket.endpoint,
        conversation_id=ticket.conversation_id,
        stage=ticket.stage,
        intake_stage=ticket.stage,
        stage_source=ticket.stage_source,
        stage_reason=f"split from #{ticket.number}: {ticket.stage_reason}"[:SUBJECT_LENGTH],
        assignee=ticket.assignee,
        team=ticket.team,
        routing_rule=ticket.routing_rule,
        routing_reason=ticket.routing_reason,
        team_set_by_hand=ticket.team_set_by_hand,
        priority_set_by_hand=ticket.priority_set_by_hand,
        customer=ticket.customer,
        cc=list(ticket.cc),
        split_from=ticket,
        reopen_count=0,
        created_at=moved[0].created_at,
        updated_at=at,
    )
    db.session.add(part)
    for each in moved:
        each.ticket = part
    _record(part, actor, "split-from", None, f"#{ticket.number}", at)
    _record(ticket, actor, "split-into", None, f"#{part.number}", at)
    sla.apply_targets(part)
    _derive(part, moved, at)
    _derive(ticket, kept, at)
    ticket.updated_at = at
    db.session.flush()
    search.index_moved(db.session.connection(), moved)
    db.session.expire(ticket, ["messages"])
    return part


def split_into(ticket: Ticket) -> list[Ticket]:
    """The tickets split off this one, oldest first."""
    return list(
        db.session.scalars(
            select(Ticket).where(Ticket.split_from_id == ticket.id).order_by(Ticket.id)
        )
    )


def _lock(*tickets: Ticket) -> None:
    """Hold the tickets' rows, in id order (one global order: no deadlock), and check them as
    they are committed now; what the caller changed but did not flush is written first."""
    db.session.flush()
    for ticket_id in sorted({ticket.id for ticket in tickets}):
        versions.lock(ticket_id)


def check_merge(source: Ticket, target: Ticket) -> None:
    """Raise MergeRefused, saying why, when the source cannot be merged into the target."""
    if source.id == target.id:
        raise MergeRefused(f"#{source.number} cannot be merged into itself")
    for ticket in (source, target):
        if ticket.merged_into is not None:
            raise MergeRefused(
                f"#{ticket.number} was already merged into #{ticket.merged_into.number}"
            )
    if target.status == TicketStatus.CLOSED:
        raise MergeRefused(
            f"#{target.number} is closed and takes no more messages: merge into an open ticket"
        )
    for ticket in (source, target):
        if ticket.deleted_at is not None:
            raise MergeRefused(f"#{ticket.number} is in the trash")


def _copy_events(source: Ticket, target: Ticket) -> None:
    """The source's story on the target, each event marked with the ticket it happened on."""
    for event in source.events:
        db.session.add(
            TicketEvent(
                ticket=target,
                actor_id=event.actor_id,
                kind=event.kind,
                from_value=event.from_value,
                to_value=event.to_value,
                created_at=event.created_at,
                merged_from_id=event.merged_from_id or source.id,
            )
        )


def _offer_copies(source: Ticket, target: Ticket, actor: User | None, at: datetime) -> None:
    """Another customer's proven addresses go on an email target's Cc, where the agent sees
    them and may take them off; no other channel copies anyone."""
    if source.customer_id == target.customer_id or target.channel != Channel.EMAIL:
        return
    addresses = [
        identity.value
        for identity in source.customer.identities
        if identity.kind == IdentityKind.EMAIL and identity.verified
    ]
    _copy_in(target, actor, addresses, at)


def split_parts(ticket: Ticket, message: Message) -> tuple[list[Message], list[Message]]:
    """The messages that would stay and those that would move, splitting at ``message``;
    refused when either part would hold no customer message or reply (notes alone are no
    conversation)."""
    if message.ticket_id != ticket.id:
        raise InvalidInput(f"message {message.id} is not on #{ticket.number}")
    if ticket.merged_into is not None:
        raise MergeRefused(
            f"#{ticket.number} was merged into #{ticket.merged_into.number}: split it there"
        )
    messages = list(ticket.messages)
    at = messages.index(message)
    kept, moved = messages[:at], messages[at:]
    if not any(each.is_public for each in kept):
        raise MergeRefused(
            f"splitting here would leave nothing on #{ticket.number}: split at a later message"
        )
    if not any(each.is_public for each in moved):
        raise MergeRefused("only internal notes would move: split at a customer message or a reply")
    return kept, moved


def _split_subject(ticket: Ticket, message: Message) -> str:
    if message.subject and message.subject.strip():
        return message.subject.strip()[:SUBJECT_LENGTH]
    return _excerpt(message.text) or ticket.subject


def _derive(ticket: Ticket, messages: list[Message], at: datetime) -> None:
    """What the ticket's own messages say: the customer's wait and the first response."""
    ticket.last_customer_message_at = _last_customer_message(messages)
    reply = _first_reply(messages)
    ticket.first_response_at = reply.created_at if reply else None
    ticket.first_response_seconds = (
        _seconds_since_creation(ticket, reply.created_at) if reply else None
    )
    sla.note_progress(ticket, at)


def _first_reply(messages: list[Message]) -> Message | None:
    """The first reply an agent wrote (automatic messages are no response)."""
    return next(
        (
            each
            for each in messages
            if each.direction == Direction.OUTBOUND
            and each.author_id is not None
            and not each.auto_submitted
        ),
        None,
    )


def _last_customer_message(messages: list[Message]) -> datetime | None:
    waiting = [
        each.created_at
        for each in messages
        if each.direction == Direction.INBOUND and not each.auto_submitted
    ]
    return max(waiting, default=None)


def _latest(*moments: datetime | None) -> datetime | None:
    return max((moment for moment in moments if moment is not None), default=None)
