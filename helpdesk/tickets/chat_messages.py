"""Chat messages that only continue a conversation, written in a few statements.

Most chat messages add to a ticket that is already open and change nothing else: a visitor's
next message, an agent's next reply while the visitor is there. Such a message is written here
with SQLAlchemy Core statements on the session's connection, in the request's transaction,
instead of through the ORM's unit of work, which costs a chat message most of its CPU. What
the session hooks do for a message flushed through the ORM is done here by hand: the ticket's
version goes up by one in the same UPDATE that writes its fields (helpdesk/tickets/versions.py),
the words go into the search index (helpdesk/tickets/search.py), the live event is logged for
the streams (helpdesk/chat/events.py), ``message.created`` goes to the webhook outbox when
anyone subscribes (helpdesk/webhooks/events.py), and a reply records its ticket event. The
stage dashboard's rollups watch none of the fields these messages change: they get no delta,
as they get none from the ORM path.

Every other message goes through the ticket service (helpdesk/tickets/intake.py and
conversation.py): one that opens a ticket or a customer, reopens or moves a status, starts a
first-response clock or records a first response, lands on spam, a merged, deleted or proactive
ticket, carries files or copies, or goes out by email. These functions say so (None) before
they write anything, and the caller takes that path; what they accept is written exactly as
the service writes it (the tests compare both paths row by row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, case, exists, insert, not_, select
from sqlalchemy.dialects import postgresql, sqlite

from channels.base import Channel, InboundMessage
from channels.webchat import Visitor
from helpdesk.chat import events as chat_events
from helpdesk.chat import presence as chat_presence
from helpdesk.extensions import db
from helpdesk.models import (
    ChatConversation,
    Customer,
    DeliveryState,
    Direction,
    Endpoint,
    Message,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import outbound, search, versions
from helpdesk.tickets.conversation import REPLY_LIMITS
from helpdesk.tickets.customers import known_sender, read_sender
from helpdesk.tickets.events import _excerpt
from helpdesk.tickets.threading import chat_conversation_tickets, chat_thread_reason
from helpdesk.webhooks.events import ANY_ENDPOINT_ENABLED, emit_message_created

_TICKETS = Ticket.__table__
_MESSAGES = Message.__table__


@dataclass(frozen=True, slots=True)
class ChatTicket:
    """What decides whether a message may take the quick path, as read with its chat."""

    id: int
    status: TicketStatus
    spam: bool
    merged: bool
    # A conversation we started waits for the customer's first answer to start its clock.
    clock_waiting: bool
    customer_name: str


@dataclass(frozen=True, slots=True)
class Chat:
    """A visitor's conversation as their request finds it: its site and its latest ticket."""

    visitor: Visitor
    site_id: int
    site_settings: dict
    last_seen_at: datetime | None
    ticket: ChatTicket | None
    # Some webhook endpoint is enabled: whether ``message.created`` is wanted is asked then.
    webhooks: bool


# What leaves a ticket as it is, but for the message: open already, nobody's clock to start,
# nothing to follow elsewhere. Read with the chat, and checked again by the UPDATE itself, so
# a ticket changed in between by another process is left to the ticket service.
_STAYS_OPEN = and_(
    _TICKETS.c.status.in_([TicketStatus.NEW, TicketStatus.OPEN]),
    _TICKETS.c.spam_at.is_(None),
    _TICKETS.c.deleted_at.is_(None),
    _TICKETS.c.merged_into_id.is_(None),
)
_CLOCK_WAITING = and_(
    _TICKETS.c.proactive.is_(True),
    _TICKETS.c.first_response_at.is_(None),
    _TICKETS.c.first_response_due_at.is_(None),
)


# The ticket a chat message goes to, as intake threads it (threading.chat_conversation_tickets).
_LATEST_TICKET = (
    select(Ticket.id)
    .where(*chat_conversation_tickets(ChatConversation.endpoint_id, ChatConversation.id))
    .order_by(Ticket.id.desc())
    .limit(1)
    .correlate(ChatConversation)
    .scalar_subquery()
)
# Built once: a statement made per request costs more CPU than its round trip.
_CHAT = (
    select(
        ChatConversation.visitor_id,
        ChatConversation.name,
        ChatConversation.email,
        ChatConversation.chosen_stage,
        ChatConversation.host_user_id,
        ChatConversation.last_seen_at,
        Endpoint.id,
        Endpoint.address,
        Endpoint.settings,
        Ticket.id,
        Ticket.status,
        Ticket.spam_at.is_not(None),
        Ticket.merged_into_id.is_not(None),
        _CLOCK_WAITING,
        Customer.display_name,
        ANY_ENDPOINT_ENABLED,
    )
    .join(Endpoint, Endpoint.id == ChatConversation.endpoint_id)
    .outerjoin(Ticket, Ticket.id == _LATEST_TICKET)
    .outerjoin(Customer, Customer.id == Ticket.customer_id)
    .where(ChatConversation.id == bindparam("conversation_id"))
)


def find_chat(conversation_id: str) -> Chat | None:
    """The conversation with its site and the ticket its messages continue, in one statement;
    None when there is no such conversation."""
    row = db.session.connection().execute(_CHAT, {"conversation_id": conversation_id}).one_or_none()
    if row is None:
        return None
    (visitor_id, name, email, stage, host_user, seen, site_id, site_key, settings) = row[:9]
    ticket_id, status, spam, merged, clock_waiting, customer_name, webhooks = row[9:]
    visitor = Visitor(site_key, visitor_id, conversation_id, name, email, stage, host_user)
    ticket = (
        None
        if ticket_id is None
        else ChatTicket(
            ticket_id, status, bool(spam), bool(merged), bool(clock_waiting), customer_name
        )
    )
    return Chat(visitor, site_id, settings, seen, ticket, bool(webhooks))


def take_visitor_message(msg: InboundMessage, chat: Chat) -> bool | None:
    """Store a visitor's next message on their open chat ticket, as intake would.

    True when stored, False when it was stored before (a resend changes nothing), None when it
    is the ticket service's to take. None also when the ticket changed since ``chat`` was
    read: the transaction is then rolled back, with nothing of the message written.
    """
    ticket = chat.ticket
    if ticket is None or ticket.status not in (TicketStatus.NEW, TicketStatus.OPEN):
        return None
    if ticket.spam or ticket.merged or ticket.clock_waiting:
        return None
    if not known_sender(msg, read_sender(msg)):
        return None  # a new customer, identity or name to record
    at = msg.received_at or utcnow()
    reason = chat_thread_reason(msg.conversation_id)
    message_id = _insert_message(
        ticket_id=ticket.id,
        direction=Direction.INBOUND,
        channel=Channel.CHAT,
        endpoint_id=chat.site_id,
        sender=msg.sender,
        text=msg.text,
        external_id=msg.external_id,
        thread_reason=reason,
        created_at=at,
    )
    if message_id is None:
        return False
    written = versions.bump_written(_CUSTOMER_WROTE, ticket.id, at=at)
    if written is None:
        db.session.rollback()
        return None
    _announce(
        chat_events.MessageShown(
            message_id=message_id,
            ticket_id=ticket.id,
            direction=Direction.INBOUND,
            external_id=msg.external_id,
            author_id=None,
            name=ticket.customer_name,
            text=msg.text,
            created_at=at,
            channel=Channel.CHAT.value,
            delivery=None,
        ),
        msg.conversation_id,
        webhooks=chat.webhooks,
    )
    return True


_AT = bindparam("at", type_=Ticket.updated_at.type)
_CUSTOMER_WROTE = versions.written_with_bump(
    _STAYS_OPEN,
    not_(_CLOCK_WAITING),
    # The customer's wait starts; a ticket changed later than the message keeps its time.
    last_customer_message_at=_AT,
    updated_at=case((_TICKETS.c.updated_at > _AT, _TICKETS.c.updated_at), else_=_AT),
)


def _insert_message(**values: object) -> int | None:
    """The message's row; None when its (direction, channel, endpoint, external id) is stored
    already. A concurrent writer of the same one is waited for, then found."""
    versions.begin_writing()
    connection = db.session.connection()
    return connection.execute(_INSERT_MESSAGE[connection.dialect.name], values).scalar()


_INSERT_MESSAGE = {
    module.dialect.name: module.insert(_MESSAGES)
    .on_conflict_do_nothing(index_elements=["direction", "channel", "endpoint_id", "external_id"])
    .returning(_MESSAGES.c.id)
    for module in (postgresql, sqlite)
}


def _announce(
    shown: chat_events.MessageShown, conversation_id: str | None, *, webhooks: bool
) -> None:
    """Index the message's words, log its live event and, when subscribed, its webhook event."""
    words = search.words(shown.text)
    if words:
        search.add_words(db.session.connection(), {shown.ticket_id: words})
    chat_events.publish_message(shown, conversation_id)
    if webhooks:
        emit_message_created(db.session(), shown.message_id)


# --- an agent's reply --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A reply written: the ticket's new version and its properties as the sidebar shows them."""

    version: int
    properties: dict[str, str]


# What leaves a chat ticket as it is, but for the reply: a first response was given already
# (so no clock stops), the status moves nowhere (a new ticket opens with its first reply), the
# ticket takes replies and its customer may be written to.
_TAKES_PLAIN_REPLIES = and_(
    _TICKETS.c.channel == Channel.CHAT,
    _TICKETS.c.status != TicketStatus.NEW,
    _TICKETS.c.first_response_at.is_not(None),
    _TICKETS.c.merged_into_id.is_(None),
    _TICKETS.c.deleted_at.is_(None),
    select(Customer.erased_at)
    .where(Customer.id == _TICKETS.c.customer_id)
    .scalar_subquery()
    .is_(None),
)
_TICKET_ID = bindparam("ticket_id")
_REPLY_TO = (
    select(
        _TAKES_PLAIN_REPLIES,
        Ticket.conversation_id,
        Ticket.endpoint_id,
        Endpoint.address,
        ChatConversation.last_seen_at,
        outbound.last_customer_sender(_TICKET_ID).scalar_subquery(),
        exists().where(
            versions.newer_than_seen(_TICKET_ID, bindparam("seen"), bindparam("writer_id"))
        ),
        Ticket.team_id,
        Ticket.assignee_id,
        Ticket.status,
        Ticket.priority,
        Ticket.stage,
        ANY_ENDPOINT_ENABLED,
    )
    .join(Endpoint, Endpoint.id == Ticket.endpoint_id)
    .outerjoin(ChatConversation, ChatConversation.id == Ticket.conversation_id)
    .where(Ticket.id == _TICKET_ID)
)
_AGENT_REPLIED = versions.written_with_bump(_TAKES_PLAIN_REPLIES, updated_at=_AT)


def reply_in_chat(ticket_id: int, author: User, text: str, *, seen: int | None) -> ChatReply | None:
    """Write an agent's reply on a chat ticket whose visitor is here, as ``service.reply``
    would, and deliver it by its live event; None when it is the ticket service's to write
    (nothing written), or when the writer has not seen the newest messages (``seen``: the
    newest message their page showed; None when they confirmed or their page did not say).

    None also when the ticket changed since it was read: the transaction is then rolled back.
    """
    text = (text or "").strip()
    if not text or len(text) > REPLY_LIMITS[Channel.CHAT]:
        return None  # the service says what is wrong with it
    connection = db.session.connection()
    params = {"ticket_id": ticket_id, "seen": seen or 0, "writer_id": author.id}
    row = connection.execute(_REPLY_TO, params).one_or_none()
    if row is None:
        return None
    (plain, conversation_id, site_id, site_key, visitor_seen_at, recipient, newer) = row[:7]
    team_id, assignee_id, status, priority, stage, webhooks = row[7:]
    if not plain or not chat_presence.visitor_here(visitor_seen_at) or not recipient:
        return None  # a first response, a status to move, or the reply goes by email
    if seen is not None and newer:
        return None
    at = utcnow()
    message_id = _insert_message(
        ticket_id=ticket_id,
        direction=Direction.OUTBOUND,
        channel=Channel.CHAT,
        endpoint_id=site_id,
        author_id=author.id,
        sender=site_key,
        recipient=recipient,
        text=text,
        thread_reason="agent reply",
        # Delivered by the live event committed with it, as the ORM path marks it.
        delivery_state=DeliveryState.DELIVERED,
        created_at=at,
    )
    connection.execute(
        insert(TicketEvent.__table__),
        {
            "ticket_id": ticket_id,
            "actor_id": author.id,
            "kind": "reply",
            "to_value": _excerpt(text),
            "created_at": at,
        },
    )
    version = versions.bump_written(_AGENT_REPLIED, ticket_id, at=at)
    if version is None:
        db.session.rollback()
        return None
    _announce(
        chat_events.MessageShown(
            message_id=message_id,
            ticket_id=ticket_id,
            direction=Direction.OUTBOUND,
            external_id=None,
            author_id=author.id,
            name=chat_events.agent_name_for_visitors(author.name),
            text=text,
            created_at=at,
            channel=Channel.CHAT.value,
            delivery=DeliveryState.DELIVERED.value,
        ),
        conversation_id,
        webhooks=webhooks,
    )
    properties = versions.properties_of(team_id, assignee_id, status, priority, stage)
    return ChatReply(version, properties)
