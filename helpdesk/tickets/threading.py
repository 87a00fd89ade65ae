"""Which existing ticket an inbound message belongs to, and why. Never the subject alone."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import joinedload

from channels.base import Channel, InboundMessage
from helpdesk.extensions import db
from helpdesk.models import Customer, Direction, Endpoint, Message, Ticket, TicketStatus, User
from helpdesk.tickets.message_ids import forged, proven_ticket_number

SUBJECT_TOKEN = re.compile(r"\[#(\d{1,12})\]")
_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    ticket: Ticket
    found_by: str  # "reply to message <…>", "subject token [#N] …"
    # The sender of a mail that threaded here by Message-ID without being on the ticket.
    outsider: str | None = None

    @property
    def reason(self) -> str:
        """Why the message lands on the ticket, as its page shows it."""
        if self.outsider is None:
            return self.found_by
        return f"{self.found_by}; from {self.outsider}, who is not on the ticket"


def subject_token(subject: str | None) -> int | None:
    """The ticket number of a ``[#N]`` token in a subject line, if any."""
    match = SUBJECT_TOKEN.search(subject or "")
    return int(match.group(1)) if match else None


def find_thread(
    msg: InboundMessage,
    customer: Customer | None,
    endpoint: Endpoint,
    references: Mapping[str, int],
) -> ThreadMatch | None:
    """The ticket this message continues, by the rules of DESIGN.md in their order.

    ``customer`` is None for a sender we have never met; ``references`` are the stored
    messages among those it replies to (``referenced_tickets``).
    """
    match = (
        _by_message_id(msg, customer, references)
        or _by_subject_token(msg, customer)
        or _by_sms_conversation(msg, customer, endpoint)
        or _by_chat_conversation(msg, endpoint)
    )
    if match is None:
        return None
    match = _followed(match)
    # A customer's words never go into the trash: what would continue a deleted ticket opens
    # a new one (see intake).
    return None if match.ticket.is_deleted else match


def merge_chain(ticket: Ticket) -> list[Ticket]:
    """The ticket and those it was merged into, in turn (a -> b -> c); the last one is open
    to its conversation. Merging refuses a merged ticket, so a chain never loops."""
    chain = [ticket]
    while chain[-1].merged_into is not None:
        chain.append(chain[-1].merged_into)
    return chain


def _followed(match: ThreadMatch) -> ThreadMatch:
    """What threaded to a merged ticket lands on the ticket it was merged into."""
    chain = merge_chain(match.ticket)
    if len(chain) == 1:
        return match
    hops = "; ".join(f"#{a.number} was merged into #{b.number}" for a, b in pairwise(chain))
    return replace(match, ticket=chain[-1], found_by=f"{match.found_by}; {hops}")


def referenced_tickets(hints: Iterable[str]) -> dict[str, int]:
    """The stored email messages among these Message-IDs, as Message-ID -> ticket id."""
    hints = {hint for hint in hints if hint}
    if not hints:
        return {}
    # Our own Message-IDs and any the customer used before are stored as external ids.
    known = db.session.execute(
        select(Message.external_id, Message.ticket_id)
        .where(Message.channel == Channel.EMAIL, Message.external_id.in_(hints))
        .order_by(Message.id.desc())
    )
    # Should one Message-ID be stored twice, its first ticket wins.
    return {external_id: ticket_id for external_id, ticket_id in known}


def forgery_note(msg: InboundMessage) -> str:
    """A thread reason's note on an id the mail names that imitates ours; empty if none."""
    hint = next((hint for hint in msg.thread_hints if hint and forged(hint)), None)
    if hint is None:
        return ""
    return f"; it names {hint}, made to look like one of our Message-IDs but not signed by us"


def _by_message_id(
    msg: InboundMessage, customer: Customer | None, references: Mapping[str, int]
) -> ThreadMatch | None:
    match = _replied_to(msg, references)
    if match is None or any(
        _is_participant(each, customer, msg.sender) for each in merge_chain(match.ticket)
    ):
        return match
    # Kept on the ticket, where an agent sees who wrote it; nobody else is answered for it.
    return replace(match, outsider=msg.sender)


def _replied_to(msg: InboundMessage, references: Mapping[str, int]) -> ThreadMatch | None:
    # Prefer the most specific hint: In-Reply-To comes first, References oldest-first after it.
    for hint in msg.thread_hints:
        if hint in references:
            return ThreadMatch(db.session.get(Ticket, references[hint]), f"reply to message {hint}")
        if hint and (ticket := _signed_ticket(hint)) is not None:
            return ThreadMatch(ticket, f"reply to our message {hint}, proven by its signature")
    return None


def _signed_ticket(hint: str) -> Ticket | None:
    """The ticket one of our signed ids names, should the store no longer hold the id.

    Not an erased customer's: erasing them removed the ids so nothing threads there again.
    """
    number = proven_ticket_number(hint)
    if number is None:
        return None
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
    return None if ticket is None or ticket.customer.erased_at is not None else ticket


def _by_subject_token(msg: InboundMessage, customer: Customer | None) -> ThreadMatch | None:
    number = subject_token(msg.subject)
    if number is None:
        return None
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
    # Only a participant may continue a ticket by its token; anyone else opens a new one. A
    # merged ticket's participants are those of the tickets it went into, too.
    if ticket is None or not any(
        _is_participant(each, customer, msg.sender) for each in merge_chain(ticket)
    ):
        return None
    return ThreadMatch(ticket, f"subject token [#{number}] from a participant of the ticket")


def _is_participant(ticket: Ticket, customer: Customer | None, sender: str) -> bool:
    """The ticket's customer (by any address they proved), someone it copies (Cc), an agent,
    or anyone who wrote on it as one of these."""
    if customer is not None and ticket.customer_id == customer.id:
        return True
    address = sender.lower()
    return address in ticket.cc or _wrote_on(ticket, sender) or _is_agent(address)


def _wrote_on(ticket: Ticket, sender: str) -> bool:
    wrote_before = db.session.scalar(
        select(Message.id)
        .where(
            Message.ticket_id == ticket.id,
            Message.direction == Direction.INBOUND,
            Message.sender == sender,
            # An outsider's first mail never makes them one of the ticket's people.
            Message.from_outsider.is_(False),
        )
        .limit(1)
    )
    return wrote_before is not None


def _is_agent(address: str) -> bool:
    agent = db.session.scalar(
        select(User.id).where(User.email == address, User.active.is_(True)).limit(1)
    )
    return agent is not None


def _by_sms_conversation(
    msg: InboundMessage, customer: Customer | None, endpoint: Endpoint
) -> ThreadMatch | None:
    if msg.channel != Channel.SMS or customer is None:
        return None
    # The newest open ticket on the number (after a split, the part split off), else the newest.
    ticket = db.session.scalar(
        select(Ticket)
        .where(
            Ticket.channel == Channel.SMS,
            Ticket.customer_id == customer.id,
            Ticket.endpoint_id == endpoint.id,
            Ticket.deleted_at.is_(None),
        )
        .order_by(
            case((Ticket.status.in_(_OPEN), 0), else_=1),
            Ticket.created_at.desc(),
            Ticket.id.desc(),
        )
        .limit(1)
    )
    return ThreadMatch(ticket, f"latest text conversation with {msg.sender}") if ticket else None


def _by_chat_conversation(msg: InboundMessage, endpoint: Endpoint) -> ThreadMatch | None:
    if msg.channel != Channel.CHAT or not msg.conversation_id:
        return None
    ticket = db.session.scalar(
        select(Ticket)
        # The message's live event names the customer: read in the same round trip.
        .options(joinedload(Ticket.customer))
        .where(*chat_conversation_tickets(endpoint.id, msg.conversation_id))
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return ThreadMatch(ticket, chat_thread_reason(msg.conversation_id)) if ticket else None


def chat_conversation_tickets(endpoint_id: Any, conversation_id: Any) -> tuple[Any, ...]:
    """The tickets a chat conversation's messages may go to; the newest of them is the one.
    Either argument may be a value or a column of a query the conditions correlate with."""
    return (
        Ticket.channel == Channel.CHAT,
        Ticket.endpoint_id == endpoint_id,
        Ticket.conversation_id == conversation_id,
        Ticket.deleted_at.is_(None),
    )


def chat_thread_reason(conversation_id: str | None) -> str:
    """How a chat message's ticket was found, as its thread reason says."""
    return f"chat conversation {conversation_id}"
