"""Everything the helpdesk holds about one customer, found table by table.

The export and the erasure read the same holdings, so whatever one hands over the other removes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from sqlalchemy import ColumnElement, Select, Text, and_, cast, func, or_, select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    Attachment,
    AuditEvent,
    ChatConversation,
    ChatEvent,
    Customer,
    CustomerIdentity,
    IdentityKind,
    InboundEmail,
    InboxItem,
    IntakeOutcome,
    Message,
    Survey,
    Ticket,
    TicketEvent,
)
from helpdesk.storage import blob_store


@dataclass(slots=True)
class Holdings:
    """One customer's rows in every table that keeps something about them."""

    customer: Customer
    # Customers merged into this one: tombstones that still carry the name they had.
    merged_customers: list[Customer]
    identities: list[CustomerIdentity]
    tickets: list[Ticket]
    messages: list[Message]
    attachments: list[Attachment]
    events: list[TicketEvent]
    surveys: list[Survey]
    # Mail taken in as one of their messages, and mail from their addresses that became none
    # (quarantined, or ignored as an automatic reply).
    emails: list[InboundEmail]
    stray_emails: list[InboundEmail]
    conversations: list[ChatConversation]
    chat_events: list[ChatEvent]
    inbox_items: list[InboxItem]
    audit_events: list[AuditEvent]

    def personal_values(self) -> set[str]:
        """Their name, addresses, numbers and visitor ids, as other rows may quote them."""
        found = {identity.value for identity in self.identities}
        for conversation in self.conversations:
            found.update({conversation.visitor_id, conversation.name, conversation.email})
            found.add(conversation.host_user_id)
        found.update(customer.name for customer in (self.customer, *self.merged_customers))
        return {value for value in found if value}

    def file_keys(self) -> set[str]:
        """The storage keys of their attachments and raw emails."""
        keys = {attachment.storage_key for attachment in self.attachments}
        keys.update(message.raw_ref for message in self.messages)
        keys.update(email.raw_ref for email in (*self.emails, *self.stray_emails))
        return {key for key in keys if key}


def holdings_of(customer: Customer) -> Holdings:
    """Every row held about ``customer``."""
    tickets = select(Ticket.id).where(Ticket.customer_id == customer.id)
    identities = list(customer.identities)
    messages = select(Message.id).where(
        or_(Message.ticket_id.in_(tickets), _moved_messages(tickets, identities))
    )
    conversations = _conversations(tickets, identities)
    conversation_ids = [conversation.id for conversation in conversations]
    held = Holdings(
        customer=customer,
        merged_customers=_all(
            select(Customer).where(Customer.merged_into_id == customer.id).order_by(Customer.id)
        ),
        identities=identities,
        tickets=_all(select(Ticket).where(Ticket.id.in_(tickets)).order_by(Ticket.id)),
        messages=_all(select(Message).where(Message.id.in_(messages)).order_by(Message.id)),
        attachments=_all(
            select(Attachment).where(Attachment.message_id.in_(messages)).order_by(Attachment.id)
        ),
        events=_all(
            select(TicketEvent)
            .where(or_(TicketEvent.ticket_id.in_(tickets), TicketEvent.merged_from_id.in_(tickets)))
            .order_by(TicketEvent.id)
        ),
        surveys=_all(select(Survey).where(Survey.ticket_id.in_(tickets)).order_by(Survey.id)),
        emails=_all(
            select(InboundEmail)
            .where(InboundEmail.message_id.in_(messages))
            .order_by(InboundEmail.id)
        ),
        stray_emails=_stray_emails(_values(identities, IdentityKind.EMAIL)),
        conversations=conversations,
        chat_events=_all(
            select(ChatEvent)
            .where(
                or_(
                    ChatEvent.ticket_id.in_(tickets),
                    ChatEvent.conversation_id.in_(conversation_ids),
                )
            )
            .order_by(ChatEvent.id)
        ),
        inbox_items=_all(
            select(InboxItem)
            .where(
                or_(
                    InboxItem.message_id.in_(messages),
                    InboxItem.sender.in_(_values(identities, IdentityKind.PHONE)),
                )
            )
            .order_by(InboxItem.id)
        ),
        audit_events=[],
    )
    held.audit_events = _audit_events(held)
    return held


def _all(query: Select) -> list:
    return list(db.session.scalars(query))


def _moved_messages(tickets: Select, identities: list[CustomerIdentity]) -> ColumnElement[bool]:
    """Their messages on the tickets theirs were merged into (another customer's, maybe): the
    ones they sent or that went to them, by address, number or visitor id."""
    targets = select(Ticket.merged_into_id).where(
        Ticket.id.in_(tickets), Ticket.merged_into_id.is_not(None)
    )
    values = {identity.value.lower() for identity in identities}
    return and_(
        Message.ticket_id.in_(targets),
        or_(func.lower(Message.sender).in_(values), func.lower(Message.recipient).in_(values)),
    )


def _values(identities: list[CustomerIdentity], kind: IdentityKind) -> set[str]:
    return {identity.value for identity in identities if identity.kind == kind}


def _conversations(tickets: Select, identities: list[CustomerIdentity]) -> list[ChatConversation]:
    of_tickets = select(Ticket.conversation_id).where(
        Ticket.id.in_(tickets), Ticket.channel == Channel.CHAT
    )
    return _all(
        select(ChatConversation)
        .where(
            or_(
                ChatConversation.id.in_(of_tickets),
                ChatConversation.visitor_id.in_(_values(identities, IdentityKind.VISITOR)),
            )
        )
        .order_by(ChatConversation.created_at, ChatConversation.id)
    )


def _stray_emails(addresses: set[str]) -> list[InboundEmail]:
    """Mail from these addresses that became no message: only its raw copy says who sent it."""
    if not addresses:
        return []
    unlinked = select(InboundEmail).where(
        InboundEmail.message_id.is_(None),
        InboundEmail.outcome.in_((IntakeOutcome.QUARANTINED, IntakeOutcome.IGNORED)),
    )
    return [
        email
        for email in _all(unlinked.order_by(InboundEmail.id))
        if _sender_of(email) in addresses
    ]


def _sender_of(email: InboundEmail) -> str | None:
    """The From address of a stored raw email; quarantined mail may be too broken to parse
    fully, so only its header is read, leniently."""
    try:
        raw = blob_store().get(email.raw_ref)
    except KeyError:
        return None
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    found = getaddresses([str(value) for value in headers.get_all("From", [])])
    return next((address.lower() for _, address in found if "@" in address), None)


def _audit_events(held: Holdings) -> list[AuditEvent]:
    """Audit rows about the customer, their tickets, messages or identities, and rows that
    quote one of their personal values anywhere."""
    about = [
        and_(AuditEvent.target_type == kind, AuditEvent.target_id.in_(ids))
        for kind, ids in _targets(held).items()
        if ids
    ]
    # Values are matched as the JSON columns store them (non-ASCII letters escaped).
    quoted = [
        cast(column, Text).icontains(json.dumps(value)[1:-1], autoescape=True)
        for value in held.personal_values()
        for column in (AuditEvent.before, AuditEvent.after)
    ]
    return _all(select(AuditEvent).where(or_(*about, *quoted)).order_by(AuditEvent.id))


def _targets(held: Holdings) -> dict[str, list[str]]:
    """The audit trail's target ids of what is theirs, by target type."""
    return {
        "customer": [str(c.id) for c in (held.customer, *held.merged_customers)],
        "ticket": [str(ticket.id) for ticket in held.tickets],
        "message": [str(message.id) for message in held.messages],
        "identity": [str(identity.id) for identity in held.identities],
    }


def about_them(held: Holdings, row: AuditEvent) -> bool:
    """Whether an audit row is about the customer or what is theirs (not merely quoting them)."""
    return row.target_id in _targets(held).get(row.target_type, ())
