"""Intake: an inbound message attached to its ticket, or the reason it was not stored.

De-duplication, each sender's lock, threading, the reopen policy, opening a ticket with its
stage, targets, team and priority, storing the message, and SMS keywords.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError

from channels.base import Channel, InboundMessage, SmsKeyword
from channels.email.parse import content_message_id
from helpdesk import counters
from helpdesk.chat import events as chat_events
from helpdesk.extensions import db
from helpdesk.models import (
    Direction,
    Endpoint,
    Message,
    Priority,
    Ticket,
    TicketStatus,
    utcnow,
)
from helpdesk.stage_model.suggestions import record_prediction
from helpdesk.tickets import assignment, identity_claims, routing, sla, surveys
from helpdesk.tickets.attachments import _record_media, _store_attachments
from helpdesk.tickets.copies import note_copied
from helpdesk.tickets.customers import phone_identity, resolve_customer, set_opt_out
from helpdesk.tickets.endpoints import endpoint_for
from helpdesk.tickets.events import SUBJECT_LENGTH, _record
from helpdesk.tickets.lookups import BatchLookups, IntakeLookups, touches
from helpdesk.tickets.properties import _change_status, confirm_identity
from helpdesk.tickets.ratings import _awaited_rating, answer_survey
from helpdesk.tickets.stages import decide
from helpdesk.tickets.threading import ThreadMatch, find_thread, forgery_note

# STOP and START talk to the carrier, not to us: they are kept but reopen nothing.
_QUIET_KEYWORDS = (SmsKeyword.OPT_OUT, SmsKeyword.OPT_IN)


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
        # The mail proves an address the ticket's customer claimed: it is theirs, no outsider's.
        match = replace(match, outsider=None)
        confirm_identity(claim, match.ticket, f"by a mail from it ({match.reason})", at=at)
    customer = resolve_customer(msg, sender, at)
    msg, reused = _own_message_id(msg, lookups)
    notes = reused + forgery_note(msg)
    survey = _awaited_rating(msg, match)
    if survey is not None:
        # A bare "4" after "How did we do?" answers it; it never reopens the ticket.
        answer_survey(survey, surveys.bare_score(msg.text, survey.kind), at=at)
        ticket, reason = match.ticket, f"{match.reason} (survey answer){notes}"
        message = _store_inbound(msg, ticket, endpoint, reason, at, waits=False)
    else:
        ticket, reason = _ticket_for(msg, match, customer, endpoint, lookups, at)
        outsider = match is not None and match.outsider is not None and ticket is match.ticket
        # Kept on a spam ticket without starting anyone's wait or clock.
        message = _store_inbound(
            msg, ticket, endpoint, reason + notes, at, waits=not ticket.is_spam, outsider=outsider
        )
        if msg.keyword:
            _apply_keyword(msg, ticket, at)
    opened = match is None or ticket is not match.ticket
    if opened:
        # The one place a new ticket meets its team's automatic assignment; routing, which
        # gives it the team, runs before this.
        assignment.offer(ticket, at)
    if msg.channel == Channel.CHAT and opened:
        # Open queues learn of it from the event log, written in this same transaction.
        db.session.flush()
        chat_events.publish_new_ticket(ticket)
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


_TAKE_LOCKS = sql(
    "SELECT pg_advisory_xact_lock(hashtextextended(wanted.key, 0))"
    " FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS wanted(key, position)"
    " ORDER BY wanted.position"
)


def _serialise(keys: list[str]) -> None:
    """Let concurrent intakes from one sender wait for each other instead of racing.

    Two texts from one number at once must not open two tickets or two customers. On
    PostgreSQL a transaction-scoped advisory lock per sender does it (taken again by the same
    transaction, it is held already); on SQLite the write lock is taken up front, since
    upgrading a read snapshot to a write fails at once with "database is locked" when another
    process wrote in between. A savepoint's rollback lets go of the locks taken inside it.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and keys:
        # One statement for a whole batch's senders, taking them in the order given: rows come
        # off unnest in array order, and PostgreSQL calls a volatile function of the select
        # list only after the ORDER BY (the sort is there to say so, not to reorder).
        connection.execute(_TAKE_LOCKS, {"keys": keys})
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
    if ticket.is_spam:
        # Kept where it belongs, quietly: no reopening, nobody told, no deadline.
        return ticket, f"{match.reason} (the ticket is marked as spam)"
    if ticket.status == TicketStatus.CLOSED or (
        ticket.status == TicketStatus.SOLVED and not _within_reopen_window(ticket, at)
    ):
        follow_up = _open_ticket(msg, customer, endpoint, lookups, at, previous=ticket)
        why = "closed" if ticket.status == TicketStatus.CLOSED else "solved too long ago to reopen"
        return follow_up, f"{match.reason}; #{ticket.number} is {why}, so a follow-up was opened"
    if ticket.status == TicketStatus.SOLVED:
        _change_status(ticket, None, TicketStatus.OPEN, at, kind="reopened")
        assignment.reopened(ticket, at)
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
    decision = decide(msg, endpoint, lookups.rules(), lookups.stage_model())
    ticket = Ticket(
        number=next_ticket_number(),
        # Set here, not at the flush: a batch's next mail may copy people in before that.
        cc=[],
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
    if decision.model_said is not None:
        record_prediction(ticket, decision.model_said, at)
    sla.apply_targets(ticket, lookups.targets())
    _dispatch(ticket, lookups, at)
    return ticket


def _dispatch(ticket: Ticket, lookups: IntakeLookups, at: datetime) -> None:
    """Send a new ticket on its way: routing gives it a team and priority (automatic assignment,
    which needs the team, is offered it once its first message is stored: see ``_attach``)."""
    routing.route(ticket, at, lookups.routing_rules())


def _subject_of(msg: InboundMessage) -> str:
    if msg.subject and msg.subject.strip():
        return msg.subject.strip()[:SUBJECT_LENGTH]
    text = " ".join((msg.text or "").split())
    if not text:
        return f"{msg.channel.value} message from {msg.sender_name or msg.sender}"[:SUBJECT_LENGTH]
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
    outsider: bool = False,
) -> Message:
    message = Message(
        ticket=ticket,
        direction=Direction.INBOUND,
        channel=msg.channel,
        endpoint=endpoint,
        sender=msg.sender,
        recipient=msg.recipient,
        # A subject of any length arrives (the raw mail keeps it whole); the column holds 300.
        subject=msg.subject[:SUBJECT_LENGTH] if msg.subject else msg.subject,
        text=msg.text or "",
        folded_text=msg.folded_text,
        html=msg.html,
        external_id=msg.external_id,
        content_hash=msg.content_hash,
        raw_ref=msg.raw_ref,
        auto_submitted=msg.auto_submitted,
        thread_reason=reason[:SUBJECT_LENGTH],
        from_outsider=outsider,
        created_at=at,
    )
    db.session.add(message)
    # The agents on the ticket's page see it at once; a chat visitor sees what they wrote.
    chat_events.announce_message(message, to_visitor=msg.channel == Channel.CHAT)
    _store_attachments(message, msg.attachments)
    _record_media(message, msg.media, at)
    if not outsider:
        # Someone not on the ticket brings nobody onto it: an agent decides whom to copy.
        note_copied(ticket, msg, at)
    # Only a message that wants an answer starts the customer's wait.
    if waits and not msg.auto_submitted:
        ticket.last_customer_message_at = at
        sla.customer_answered(ticket, at)
    ticket.updated_at = max(ticket.updated_at, at)
    return message


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
