"""Outreach: conversations the business starts with a customer, by email or SMS.

A conversation started here is a ticket of its own (``proactive``), its opening message queued
in the outbox and threaded like any reply: the customer's answer to the mail (our Message-ID,
the ``[#N]`` in its subject) or their next text on that number lands on it. Nobody who opted
out of texts or unsubscribed from outreach mail is contacted. Each mailbox and SMS number
sends outreach at a steady rate (``HELPDESK_OUTREACH_*_PER_SECOND``): every opening message
gets its own send time, which the outbox worker waits for.

A request taken on the customer's behalf (a phone call written down, an API client passing on
what the customer said) is a ticket too, with the text as the customer's message; it is the
customer's request, so not proactive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    ApiToken,
    Customer,
    CustomerIdentity,
    Direction,
    Endpoint,
    IdentityKind,
    Mailbox,
    Message,
    Priority,
    Stage,
    StageSource,
    Ticket,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import assignment, routing, sla
from helpdesk.tickets.conversation import (
    _CHANNEL_WORDS,
    REPLY_LIMITS,
    _check_length,
    _required_text,
)
from helpdesk.tickets.customers import normalize_email, normalize_phone, opted_out
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.events import SUBJECT_LENGTH, _excerpt, _record
from helpdesk.tickets.intake import next_ticket_number
from helpdesk.tickets.outbound import _queue_outbound
from helpdesk.tickets.properties import assign

# The thread reason of an opening message: how the outbox knows it for outreach.
OPENING = "outreach: the conversation we started"
ON_BEHALF = "taken on the customer's behalf"
KIND_OF = {Channel.EMAIL: IdentityKind.EMAIL, Channel.SMS: IdentityKind.PHONE}
UNSUBSCRIBE_LINE = "To get no more messages like this one:"
# A text we start says how to stop them (carriers expect it); STOP is honoured by the SMS intake.
SMS_OPT_OUT_LINE = "Reply STOP to opt out."
_UNSUBSCRIBE_SALT = "helpdesk.outreach-unsubscribe"


class OptedOut(TicketError):
    """The recipient opted out of texts or unsubscribed from outreach: nothing was started."""


def sending_endpoints(channel: Channel) -> list[Endpoint]:
    """The mailboxes with an SMTP server (paused fetching or not) or registered SMS numbers
    outreach may send from, oldest first."""
    query = select(Endpoint).where(Endpoint.channel == channel).order_by(Endpoint.id)
    if channel == Channel.EMAIL:
        query = query.join(Mailbox, Mailbox.endpoint_id == Endpoint.id).where(
            Mailbox.smtp_host.is_not(None), Mailbox.smtp_host != ""
        )
    elif channel == Channel.SMS:
        query = query.where(Endpoint.settings["registered"].as_boolean())
    else:
        raise InvalidInput("outreach goes by email or sms")
    return list(db.session.scalars(query))


def sending_endpoint(channel: Channel, endpoint: Endpoint | None = None) -> Endpoint:
    """``endpoint`` when outreach may send from it, else the first one of the channel."""
    usable = sending_endpoints(channel)
    if endpoint is not None:
        if endpoint not in usable:
            raise InvalidInput(f"{endpoint.label} is no {_channel_word(channel)} we send from")
        return endpoint
    if not usable:
        raise TicketError(f"there is no {_channel_word(channel)} to send from: add one first")
    return usable[0]


def recipient(customer: Customer, channel: Channel, value: str | None = None) -> CustomerIdentity:
    """The customer's identity on the channel to write to: ``value``, else their first one."""
    kind = KIND_OF.get(channel)
    if kind is None:
        raise InvalidInput("outreach goes by email or sms")
    mine = sorted(
        (each for each in customer.identities if each.kind == kind), key=lambda i: not i.verified
    )
    if value is not None:
        mine = [each for each in mine if each.value == _normalised(kind, value)]
    if not mine and value is not None:
        raise InvalidInput(f"{value} is not one of {customer.display_name}'s identities")
    if not mine:
        missing = "email address" if kind == IdentityKind.EMAIL else "phone number"
        raise InvalidInput(f"{customer.display_name} has no {missing} to write to")
    return mine[0]


def outreach_block(identity: CustomerIdentity) -> str | None:
    """Why outreach must not contact this address or number; None when it may."""
    if identity.kind == IdentityKind.PHONE and (number := opted_out(identity.value)):
        return f"{number.value} opted out of text messages ({number.opt_out_reason})"
    if identity.kind == IdentityKind.EMAIL and unsubscribed(identity.value):
        return f"{identity.value} unsubscribed from our messages"
    return None


def unsubscribed(address: str) -> bool:
    """True when someone unsubscribed this email address from outreach."""
    return (
        db.session.scalar(
            select(CustomerIdentity.id)
            .where(
                CustomerIdentity.kind == IdentityKind.EMAIL,
                CustomerIdentity.value == address,
                CustomerIdentity.outreach_unsubscribed_at.is_not(None),
            )
            .limit(1)
        )
        is not None
    )


@dataclass(frozen=True, slots=True)
class Draft:
    """What a new ticket starts with: whom, on which channel, what, at which stage.

    ``to``: which of the customer's addresses or numbers (their first of the channel when
    None); ``endpoint``: the mailbox or number (the channel's first when None); ``stage``: the
    sending endpoint's default, else unknown, when None.
    """

    customer: Customer
    channel: Channel
    text: str
    subject: str | None = None
    stage: Stage | None = None
    to: str | None = None
    endpoint: Endpoint | None = None
    source: StageSource = StageSource.AGENT


def start_conversation(
    draft: Draft,
    by: User,
    *,
    token: ApiToken | None = None,
    why: str | None = None,
    keep: bool = False,
    at: datetime | None = None,
) -> Ticket:
    """Start a conversation with the customer: a proactive ticket, its message queued.

    The ticket waits on the customer (pending) and owes no first response until they answer.
    ``why`` names what started it (a campaign) in the ticket's events. With ``keep`` the
    ticket is assigned to whoever started it, so the answer comes back to them; otherwise its
    team's automatic assignment takes it.
    """
    at = at or utcnow()
    identity = recipient(draft.customer, draft.channel, draft.to)
    if (blocked := outreach_block(identity)) is not None:
        raise OptedOut(f"{blocked}: nothing was sent")
    ticket, text, subject = _open(draft, by, at, proactive=True)
    # Started by us, it waits on the customer: their answer opens it like any reply.
    ticket.status = TicketStatus.PENDING
    started = why or (f"by {by.name}" + (f" with the API token {token.name}" if token else ""))
    _record(ticket, by, "outreach", None, f"started {started}", at)
    if ticket.channel == Channel.EMAIL:
        subject = f"{subject} [#{ticket.number}]"
        text = f"{text}\n\n--\n{UNSUBSCRIBE_LINE} {unsubscribe_url(identity.value)}"
    elif SMS_OPT_OUT_LINE.casefold() not in text.casefold():
        text = f"{text}\n{SMS_OPT_OUT_LINE}"
    slot = send_slot(ticket.endpoint, at)
    route = (ticket.channel, ticket.endpoint, identity.value)
    message = _queue_outbound(ticket, by, text, OPENING, at, route=route, subject=subject)
    message.next_attempt_at = slot
    if keep:
        assign(ticket, by, by, at=at)
    else:
        assignment.offer(ticket, at)
    db.session.flush()
    return ticket


def take_on_behalf(draft: Draft, by: User, *, at: datetime | None = None) -> Ticket:
    """Record a request the customer made elsewhere as their message on a new ticket."""
    at = at or utcnow()
    identity = recipient(draft.customer, draft.channel, draft.to)
    ticket, text, subject = _open(draft, by, at, proactive=False)
    message = Message(
        ticket=ticket,
        direction=Direction.INBOUND,
        channel=ticket.channel,
        endpoint=ticket.endpoint,
        sender=identity.value,
        recipient=ticket.endpoint.address,
        subject=subject,
        text=text,
        thread_reason=f"{ON_BEHALF} by {by.name}"[:SUBJECT_LENGTH],
        created_at=at,
    )
    db.session.add(message)
    ticket.last_customer_message_at = at
    assignment.offer(ticket, at)
    db.session.flush()
    return ticket


def customer_for(
    kind: IdentityKind, value: str, name: str | None = None, at: datetime | None = None
) -> Customer:
    """The customer holding this proven address or number, created with it when nobody does.

    Staff (or their API client) vouch for it, so a new identity counts as proven.
    """
    value = _normalised(kind, value)
    held = db.session.scalar(
        select(CustomerIdentity).where(
            CustomerIdentity.kind == kind,
            CustomerIdentity.value == value,
            CustomerIdentity.verified_at.is_not(None),
        )
    )
    if held is not None:
        return held.customer
    at = at or utcnow()
    customer = Customer(name=(name or "").strip()[:200] or None, created_at=at)
    db.session.add(customer)
    db.session.add(CustomerIdentity(customer=customer, kind=kind, value=value, verified_at=at))
    db.session.flush()
    return customer


def send_slot(endpoint: Endpoint, at: datetime) -> datetime:
    """The earliest moment the next outreach message from this endpoint may go out.

    One message per interval per endpoint (``HELPDESK_OUTREACH_EMAIL_PER_SECOND`` per mailbox,
    ``HELPDESK_OUTREACH_SMS_PER_SECOND`` per number): the slot after the latest one given out.
    The endpoint's row is locked so two campaigns at once take turns instead of sharing slots.
    """
    db.session.scalar(select(Endpoint.id).where(Endpoint.id == endpoint.id).with_for_update())
    interval = _interval(endpoint.channel)
    latest = db.session.scalar(
        select(func.max(Message.next_attempt_at)).where(
            Message.endpoint_id == endpoint.id,
            Message.thread_reason == OPENING,
            Message.next_attempt_at > at - interval,
        )
    )
    return at if latest is None else max(at, latest + interval)


def _interval(channel: Channel) -> timedelta:
    setting = {
        Channel.EMAIL: "HELPDESK_OUTREACH_EMAIL_PER_SECOND",
        Channel.SMS: "HELPDESK_OUTREACH_SMS_PER_SECOND",
    }[channel]
    return timedelta(seconds=1 / current_app.config[setting])


def unsubscribe_url(address: str) -> str:
    """The signed public link that unsubscribes this email address from outreach."""
    base = current_app.config["HELPDESK_PUBLIC_URL"].rstrip("/")
    return f"{base}/unsubscribe/{_serializer().dumps(address)}"


def address_of_token(token: str) -> str | None:
    """The email address an unsubscribe link names, or None when we did not sign it."""
    try:
        address = _serializer().loads(token)
    except BadSignature:
        return None
    return address if isinstance(address, str) else None


def unsubscribe(address: str, at: datetime | None = None) -> bool:
    """Unsubscribe the address from outreach (every customer holding it); False when it was."""
    rows = db.session.scalars(
        select(CustomerIdentity).where(
            CustomerIdentity.kind == IdentityKind.EMAIL, CustomerIdentity.value == address
        )
    ).all()
    fresh = [row for row in rows if row.outreach_unsubscribed_at is None]
    for row in fresh:
        row.outreach_unsubscribed_at = at or utcnow()
    db.session.flush()
    return bool(fresh)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT)


def _open(
    draft: Draft, by: User, at: datetime, *, proactive: bool
) -> tuple[Ticket, str, str | None]:
    """A new ticket at the stage given (else the endpoint's default), routed like any other;
    with the text and subject as checked."""
    text, subject = _checked(draft.channel, draft.text, draft.subject)
    endpoint = sending_endpoint(draft.channel, draft.endpoint)
    stage, source = draft.stage, draft.source
    if stage is not None:
        reason = f"chosen by {by.name} when the ticket was started"
    elif endpoint.default_stage is not None:
        stage, source = endpoint.default_stage, StageSource.ENDPOINT_DEFAULT
        reason = f"default stage of {endpoint.label}"
    else:
        stage, source, reason = Stage.UNKNOWN, StageSource.NONE, "no stage was chosen"
    ticket = Ticket(
        number=next_ticket_number(),
        subject=subject or _excerpt(text),
        status=TicketStatus.NEW,
        priority=Priority.NORMAL,
        channel=draft.channel,
        endpoint=endpoint,
        stage=stage,
        intake_stage=stage,
        stage_source=source,
        stage_reason=reason[:SUBJECT_LENGTH],
        customer=draft.customer,
        proactive=proactive,
        reopen_count=0,
        created_at=at,
        updated_at=at,
    )
    db.session.add(ticket)
    _record(ticket, by, "created", None, f"{stage.value}: {reason}", at)
    sla.apply_targets(ticket)
    routing.route(ticket, at)
    return ticket, text, subject


def _checked(channel: Channel, text: str, subject: str | None) -> tuple[str, str | None]:
    text = _required_text(text)
    _check_length(text, REPLY_LIMITS[channel], _CHANNEL_WORDS[channel])
    subject = " ".join((subject or "").split())[:SUBJECT_LENGTH] or None
    if channel == Channel.EMAIL and subject is None:
        raise InvalidInput("an email needs a subject")
    return text, subject if channel == Channel.EMAIL else None


def _normalised(kind: IdentityKind, value: str) -> str:
    return normalize_email(value) if kind == IdentityKind.EMAIL else normalize_phone(value)


def _channel_word(channel: Channel) -> str:
    return {Channel.EMAIL: "mailbox", Channel.SMS: "SMS number"}.get(channel, channel.value)
