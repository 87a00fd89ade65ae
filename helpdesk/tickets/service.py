"""The ticket service: the only place that decides what happens to a ticket.

Every function flushes and never commits: the request, CLI command or job commits once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError

from channels.base import Channel, DeliveryError, InboundMessage, MediaLink, SmsKeyword
from channels.email.parse import content_message_id
from channels.sms import MAX_BODY as SMS_MAX_BODY
from helpdesk import counters
from helpdesk.chat import events as chat_events
from helpdesk.chat import presence as chat_presence
from helpdesk.chat import sites as chat_sites
from helpdesk.extensions import db
from helpdesk.models import (
    Attachment,
    ChatConversation,
    Customer,
    CustomerIdentity,
    DeliveryState,
    Direction,
    Endpoint,
    IdentityKind,
    Message,
    Priority,
    Stage,
    StageSource,
    Survey,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.storage import blob_store
from helpdesk.tickets import identity_claims, sla, surveys
from helpdesk.tickets.customers import (
    opted_out,
    phone_identity,
    resolve_customer,
    set_opt_out,
)
from helpdesk.tickets.endpoints import endpoint_for
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.lookups import BatchLookups, IntakeLookups, touches
from helpdesk.tickets.stages import decide
from helpdesk.tickets.threading import ThreadMatch, find_thread

SUBJECT_LENGTH = 300
COMMENT_LENGTH = 2000
_CLOSED_FOR_CUSTOMERS = (TicketStatus.SOLVED, TicketStatus.CLOSED)
# STOP and START talk to the carrier, not to us: they are kept but reopen nothing.
_QUIET_KEYWORDS = (SmsKeyword.OPT_OUT, SmsKeyword.OPT_IN)


# --- intake -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Intake:
    """What became of one inbound message."""

    message: Message | None  # None: already stored, or deliberately not taken
    reason: str
    opened_ticket: bool = False


def receive(msg: InboundMessage) -> Message | None:
    """Attach an inbound message to its ticket; None when it was already stored."""
    return take(msg).message


def take(msg: InboundMessage) -> Intake:
    """Attach an inbound message to its ticket, or say why it was not stored."""
    batch: _IntakeBatch | None = db.session.info.get(_BATCH)
    if batch is not None:
        return batch.take(msg)
    _serialise_intake(msg)
    lookups = IntakeLookups()
    endpoint = endpoint_for(msg.channel, msg.endpoint)
    if (stored := _stored_already(msg, endpoint, lookups)) is not None:
        return stored
    try:
        # Every write in a savepoint: an error leaves nothing of this message behind.
        with db.session.begin_nested():
            intake = _attach(msg, endpoint, lookups)
    except IntegrityError:
        # Another process stored the same message a moment ago: replaying changes nothing.
        if (stored := _stored_already(msg, endpoint, lookups)) is not None:
            return stored
        raise
    return intake


_BATCH = "helpdesk intake batch"


@contextmanager
def intake_batch(messages: Sequence[InboundMessage]) -> Iterator[None]:
    """Take these messages for the cost of a few: each kind of lookup once, one flush at the end.

    Inside, take() writes without a savepoint of its own and without autoflush. A message that
    touches one taken since the last flush (the same sender, a reply to it, its ticket number,
    the same chat) flushes first, so every lookup still sees what came before it. The senders'
    locks are all taken on entry (``serialise_intakes``); enter it before a savepoint, so
    that they outlive its rollback. An error leaves the batch half-written: run it inside a
    savepoint, and after an error roll that back and take the messages again one by one,
    outside the batch.
    """
    serialise_intakes(messages)
    with db.session.no_autoflush:
        db.session.info[_BATCH] = _IntakeBatch(messages)
        try:
            yield
        finally:
            del db.session.info[_BATCH]


class _IntakeBatch:
    def __init__(self, messages: Sequence[InboundMessage]) -> None:
        self.unflushed: set[str] = set()  # what the messages taken since the last flush touch
        self.lookups = BatchLookups(messages)

    def take(self, msg: InboundMessage) -> Intake:
        keys = touches(msg)
        if keys & self.unflushed:
            db.session.flush()
            self.unflushed.clear()
        endpoint = endpoint_for(msg.channel, msg.endpoint)
        if (stored := _stored_already(msg, endpoint, self.lookups)) is not None:
            return stored
        intake = _attach(msg, endpoint, self.lookups)
        if intake.message is not None:
            keys.add(f"ticket {intake.message.ticket.number}")
        self.unflushed |= keys
        self.lookups.wrote(keys)
        return intake


def _attach(msg: InboundMessage, endpoint: Endpoint, lookups: IntakeLookups) -> Intake:
    at = msg.received_at or utcnow()
    sender = lookups.sender(msg)
    match = find_thread(msg, sender.customer, endpoint, lookups.references(msg))
    if match is None and msg.auto_submitted:
        # An out-of-office or other automatic mail never opens a ticket (nor a customer).
        return Intake(None, "automatic message that answers none of our tickets")
    if (claim := identity_claims.answered_claim(msg, match, sender)) is not None:
        confirm_identity(claim, match.ticket, f"by a mail from it ({match.reason})", at=at)
    customer = resolve_customer(msg, sender, at)
    msg, reused = _own_message_id(msg, lookups)
    survey = _awaited_rating(msg, match)
    if survey is not None:
        # A bare "4" after "How did we do?" answers it; it never reopens the ticket.
        answer_survey(survey, surveys.bare_score(msg.text), at=at)
        ticket, reason = match.ticket, f"{match.reason} (survey answer){reused}"
        message = _store_inbound(msg, ticket, endpoint, reason, at, waits=False)
    else:
        ticket, reason = _ticket_for(msg, match, customer, endpoint, lookups, at)
        reason += reused
        message = _store_inbound(msg, ticket, endpoint, reason, at)
        if msg.keyword:
            _apply_keyword(msg, ticket, at)
    opened = match is None or ticket is not match.ticket
    if msg.channel == Channel.CHAT:
        # Live views learn of it from the event log, written in this same transaction.
        db.session.flush()
        _announce_chat(message, new_ticket=opened)
    return Intake(message, reason, opened_ticket=opened)


def serialise_intakes(messages: Iterable[InboundMessage]) -> None:
    """Hold the intake locks of all these messages' senders until the transaction ends.

    They are taken at once and in one global order (sorted by key): two transactions that
    each take several (two workers' batches) then never wait for each other in a circle.
    """
    _serialise(sorted({_intake_key(msg) for msg in messages}))


def _serialise_intake(msg: InboundMessage) -> None:
    _serialise([_intake_key(msg)])


def _intake_key(msg: InboundMessage) -> str:
    return f"intake {msg.channel.value} {msg.sender}"


def _serialise(keys: list[str]) -> None:
    """Let concurrent intakes from one sender wait for each other instead of racing.

    Two texts from one number at once must not open two tickets or two customers. On
    PostgreSQL a transaction-scoped advisory lock per sender does it (taken again by the same
    transaction, it is held already); on SQLite the write lock is taken up front, since
    upgrading a read snapshot to a write fails at once with "database is locked" when another
    process wrote in between. A savepoint's rollback lets go of the locks taken inside it.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        for key in keys:
            connection.execute(
                sql("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
            )
    elif (
        keys
        and connection.dialect.name == "sqlite"
        and not connection.connection.driver_connection.in_transaction
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _stored_already(
    msg: InboundMessage, endpoint: Endpoint, lookups: IntakeLookups
) -> Intake | None:
    stored = lookups.stored(msg, endpoint)
    return None if stored is None else Intake(None, f"already stored as message {stored}")


def _own_message_id(msg: InboundMessage, lookups: IntakeLookups) -> tuple[InboundMessage, str]:
    """A mail that reuses a stored mail's Message-ID (but is no copy of it) is kept under its
    content hash, and its thread reason says so; a reply naming the Message-ID still threads
    to the first mail."""
    if msg.content_hash is None or (first := lookups.first_with_id(msg)) is None:
        return msg, ""
    own = replace(msg, external_id=content_message_id(msg.content_hash))
    return own, f"; reuses the Message-ID {msg.external_id} of message {first}"


def _announce_chat(message: Message, *, new_ticket: bool) -> None:
    if new_ticket:
        chat_events.publish_new_ticket(message.ticket)
    chat_events.publish_message(message)


def _ticket_for(
    msg: InboundMessage,
    match: ThreadMatch | None,
    customer,
    endpoint: Endpoint,
    lookups: IntakeLookups,
    at: datetime,
) -> tuple[Ticket, str]:
    """Apply the reopen policy to the matched ticket, or open a new one."""
    if match is None:
        return _open_ticket(msg, customer, endpoint, lookups, at), "new request"
    ticket = match.ticket
    if msg.auto_submitted:
        # An out-of-office or bounce is kept on its thread but never reopens or starts anything.
        return ticket, f"{match.reason} (automatic message)"
    if msg.keyword in _QUIET_KEYWORDS:
        return ticket, f"{match.reason} ({msg.keyword.value} keyword)"
    if ticket.status == TicketStatus.CLOSED or (
        ticket.status == TicketStatus.SOLVED and not _within_reopen_window(ticket, at)
    ):
        follow_up = _open_ticket(msg, customer, endpoint, lookups, at, previous=ticket)
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
    lookups: IntakeLookups,
    at: datetime,
    previous: Ticket | None = None,
) -> Ticket:
    decision = decide(msg, endpoint, lookups.rules())
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
        reopen_count=0,
        created_at=at,
        updated_at=at,
    )
    db.session.add(ticket)
    _record(ticket, None, "created", None, f"{decision.stage.value}: {decision.reason}", at)
    sla.apply_targets(ticket, lookups.targets())
    return ticket


def _subject_of(msg: InboundMessage) -> str:
    if msg.subject and msg.subject.strip():
        return msg.subject.strip()[:SUBJECT_LENGTH]
    text = " ".join((msg.text or "").split())
    if not text:
        return f"{msg.channel.value} message from {msg.sender_name or msg.sender}"
    return text if len(text) <= 80 else text[:79] + "…"


def next_ticket_number() -> int:
    """The next human ticket number.

    PostgreSQL: from a sequence, so concurrent intakes never wait for each other (migration
    0010). SQLite writes one transaction at a time: a counter row does.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return connection.execute(sql("SELECT nextval('ticket_numbers')")).scalar_one()
    return counters.next_value("ticket")


def _store_inbound(
    msg: InboundMessage,
    ticket: Ticket,
    endpoint: Endpoint,
    reason: str,
    at: datetime,
    *,
    waits: bool = True,
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
        folded_text=msg.folded_text,
        html=msg.html,
        external_id=msg.external_id,
        content_hash=msg.content_hash,
        raw_ref=msg.raw_ref,
        auto_submitted=msg.auto_submitted,
        thread_reason=reason[:SUBJECT_LENGTH],
        created_at=at,
    )
    db.session.add(message)
    _store_attachments(message, msg.attachments)
    _record_media(message, msg.media, at)
    # Only a message that wants an answer starts the customer's wait.
    if waits and not msg.auto_submitted:
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
                content_id=item.content_id,
                inline=item.inline,
            )
        )


def _record_media(message: Message, media: tuple[MediaLink, ...], at: datetime) -> None:
    """Every provider-hosted file is on the message at once; the worker fetches the bytes."""
    for item in media:
        message.attachments.append(
            Attachment(
                filename=item.filename[:255] or "attachment",
                content_type=item.content_type[:120],
                source_url=item.url,
                next_fetch_at=at,
            )
        )


def _apply_keyword(msg: InboundMessage, ticket: Ticket, at: datetime) -> None:
    """Honour STOP / START on the sender's number and note every keyword on the ticket."""
    identity = phone_identity(msg.sender)
    word = " ".join(msg.text.split()).upper()[:40]
    if msg.keyword == SmsKeyword.OPT_OUT:
        if set_opt_out(identity, f"texted {word}", at):
            _record(ticket, None, "sms-opt-out", identity.value, f"texted {word}", at)
    elif msg.keyword == SmsKeyword.OPT_IN:
        if set_opt_out(identity, None, at):
            _record(ticket, None, "sms-opt-in", identity.value, f"texted {word}", at)
    else:
        _record(ticket, None, "sms-help", identity.value, f"texted {word}", at)


def recipient_opted_out(message: Message, error: DeliveryError, at: datetime) -> None:
    """The provider refused a send because the number unsubscribed: never text it again."""
    identity = phone_identity(message.recipient or "")
    reason = f"Twilio refused to text it (error {error.code}: {error.text})"
    if identity is not None and set_opt_out(identity, reason, at):
        _record(message.ticket, None, "sms-opt-out", identity.value, reason, at)


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
    blocked = reply_block(ticket)
    if blocked:
        raise TicketError(blocked)
    if ticket.channel == Channel.SMS:
        _check_sms(text, attachments)
    at = at or utcnow()
    message = _queue_outbound(ticket, author, text, "agent reply", at, html=html)
    _store_attachments(message, attachments)
    if ticket.first_response_at is None:
        ticket.first_response_at = at
        ticket.first_response_seconds = _seconds_since_creation(ticket, at)
        sla.note_progress(ticket, at)
    if ticket.status == TicketStatus.NEW:
        _change_status(ticket, author, TicketStatus.OPEN, at)
    _record(ticket, author, "reply", None, _excerpt(text), at)
    ticket.updated_at = at
    db.session.flush()
    return message


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
        external_id=_new_message_id() if by_email else None,
        # Automatic messages (the survey question, an acknowledgement) are marked so they never
        # count as a response and so email carries Auto-Submitted, keeping autoresponders quiet.
        auto_submitted=automatic,
        thread_reason=reason,
        # A chat reply is delivered by the event committed with it: the visitor's widget
        # reads it from the event log, so no worker hop (and no retry) stands in between.
        delivery_state=DeliveryState.DELIVERED if channel == Channel.CHAT else DeliveryState.QUEUED,
        next_attempt_at=None if channel == Channel.CHAT else at,
        created_at=at,
    )
    db.session.add(message)
    # The widget shows every reply, also one sent by email, should the visitor come back; a
    # message routed to one address (a verification link) is for that address alone.
    if ticket.channel == Channel.CHAT and route is None:
        db.session.flush()
        chat_events.publish_message(message)
    return message


def reply_block(ticket: Ticket) -> str | None:
    """Why no public reply can go out on this ticket right now; None when one can."""
    if ticket.channel != Channel.SMS:
        return None  # only a text recipient can opt out
    return _recipient_block(ticket.channel, _reply_recipient(ticket))


def delivery_block(message: Message) -> str | None:
    """Why a queued message must not be sent after all; None when it may."""
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


def _check_sms(text: str, attachments) -> None:
    if len(text) > SMS_MAX_BODY:
        raise InvalidInput(
            f"a text message can hold at most {SMS_MAX_BODY:,} characters; this reply has "
            f"{len(text):,}: shorten it or send it in parts"
        )
    if attachments:
        raise InvalidInput("text message replies cannot carry files")


def send_automatic(ticket: Ticket, to: str, text: str, *, at: datetime | None = None) -> Message:
    """Queue an automatic answer (an acknowledgement): no author, never a first response."""
    at = at or utcnow()
    message = _queue_outbound(ticket, None, text, "automatic answer", at, automatic=True, to=to)
    _record(ticket, None, "automatic-answer", None, f"to {to}", at)
    db.session.flush()
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


def confirm_identity(
    claim: CustomerIdentity,
    ticket: Ticket,
    proof: str,
    *,
    at: datetime | None = None,
) -> Customer:
    """A claimed address proven (``proof`` says how) on this ticket: it becomes the claimant's,
    or the claimant joins the customer who holds it; returns who holds it now."""
    at = at or utcnow()
    claimant, address = claim.customer.display_name, claim.value
    owner, moved = identity_claims.prove(claim, at)
    _record(ticket, None, "identity-verified", None, f"{address} {proof}", at)
    for each in moved:
        _record(each, None, "customer", claimant, owner.display_name, at)
    return owner


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
    # The corrected stage's targets apply, still counted from when the request arrived.
    sla.apply_targets(ticket)
    sla.note_progress(ticket, at)
    db.session.flush()


# --- satisfaction survey ---------------------------------------------------------------------


def answer_survey(
    survey: Survey,
    score: int | str | None,
    comment: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Store the customer's rating 1-5 and comment; a later answer replaces it. Never reopens."""
    score = _parse_score(score)
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_LENGTH:
        raise InvalidInput(f"the comment has at most {COMMENT_LENGTH} characters")
    at = at or utcnow()
    before = f"{survey.score}/5" if survey.score is not None else None
    survey.score, survey.comment, survey.answered_at = score, comment, at
    rated = f"{score}/5" + (f": {_excerpt(comment)}" if comment else "")
    _record(survey.ticket, None, "csat", before, rated, at)
    db.session.flush()


def ask_for_rating(ticket: Ticket, at: datetime | None = None) -> Survey | None:
    """Queue the ticket's one satisfaction question on its channel; None if asked before."""
    at = at or utcnow()
    if _reply_recipient(ticket) is None:
        return None
    if survey_of(ticket) is not None:
        return None  # asked at an earlier solve: one question per ticket
    # The email link is signed over the ticket id, so the survey needs no flush of its own.
    survey = Survey(ticket=ticket, ticket_id=ticket.id, channel=ticket.channel, sent_at=at)
    db.session.add(survey)
    text = surveys.question_text(survey, ticket.number)
    survey.question = _queue_outbound(ticket, None, text, "satisfaction survey", at, automatic=True)
    _record(ticket, None, "survey", None, f"asked on {ticket.channel.value}", at)
    return survey


def survey_of(ticket: Ticket) -> Survey | None:
    """The ticket's satisfaction survey, if it was asked."""
    return db.session.scalar(select(Survey).where(Survey.ticket_id == ticket.id))


def _awaited_rating(msg: InboundMessage, match: ThreadMatch | None) -> Survey | None:
    """The survey a text answers: a bare 1-5 by SMS on a solved or closed ticket that asked."""
    if match is None or msg.channel != Channel.SMS or msg.auto_submitted:
        return None
    if match.ticket.status not in _CLOSED_FOR_CUSTOMERS or surveys.bare_score(msg.text) is None:
        return None
    return survey_of(match.ticket)


def _parse_score(score: int | str | None) -> int:
    try:
        value = int(score)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = 0
    if value not in surveys.SCORES:
        raise InvalidInput(f"a rating is a whole number from 1 to 5, not {score!r}")
    return value


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
        ticket.resolution_seconds = _seconds_since_creation(ticket, at)
        if surveys.enabled():
            ask_for_rating(ticket, at)
    elif status != TicketStatus.CLOSED:
        ticket.solved_at = None
        ticket.resolution_seconds = None
    if kind == "reopened":
        ticket.reopen_count += 1
    ticket.updated_at = at
    sla.note_progress(ticket, at)


def record_event(
    ticket: Ticket, kind: str, after: str | None, *, at: datetime | None = None
) -> None:
    """Write a system event (no actor) to the ticket's audit trail."""
    _record(ticket, None, kind, None, after, at or utcnow())


def _record(
    ticket: Ticket,
    actor: User | None,
    kind: str,
    before: str | None,
    after: str | None,
    at: datetime,
) -> None:
    # Set from the event's side, so a ticket's events are not all loaded to add one.
    event = TicketEvent(
        ticket=ticket,
        actor=actor,
        kind=kind,
        from_value=before[:SUBJECT_LENGTH] if before else before,
        to_value=after[:SUBJECT_LENGTH] if after else after,
        created_at=at,
    )
    db.session.add(event)


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


def _seconds_since_creation(ticket: Ticket, at: datetime) -> int:
    return max(0, int((at - ticket.created_at).total_seconds()))


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 120 else flat[:119] + "…"


def _reply_recipient(ticket: Ticket) -> str | None:
    """Answer whoever wrote last on this ticket, else the customer's identity for the channel."""
    last_sender = db.session.scalar(
        select(Message.sender)
        .where(
            # Compared as objects, so a ticket not yet flushed is compared after the autoflush.
            Message.ticket == ticket,
            Message.direction == Direction.INBOUND,
            Message.auto_submitted.is_(False),
            Message.sender.is_not(None),
            Message.sender != "",
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    if last_sender:
        return last_sender
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
