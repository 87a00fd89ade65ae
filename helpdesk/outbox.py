"""The outbox: queued outbound messages and the adapters that send them.

A worker claims due messages under a lease in one short transaction, sends them with no
transaction open, and records each answer in a transaction of its own (DESIGN.md "Delivery").
A worker that dies between the provider's answer and that last commit leaves an attempt with no
``finished_at``; the lease runs out and the message goes once more, never more often. A send
that got no answer after the provider may have taken the message (a timeout) is retried too,
but a second such attempt fails the message: either way at most one duplicate, in the log.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from channels.base import (
    Channel,
    ChannelAdapter,
    DeliveryError,
    OutboundAttachment,
    OutboundMessage,
    PermanentFailure,
    RecipientOptedOut,
    SendResult,
    TemporaryFailure,
    UncertainDelivery,
)
from channels.sms import TwilioAccount, TwilioSmsAdapter
from helpdesk.extensions import db
from helpdesk.models import DeliveryAttempt, DeliveryState, Direction, Message, utcnow
from helpdesk.storage import blob_store
from helpdesk.tickets import outreach, service
from helpdesk.tickets.file_links import file_url
from helpdesk.transient import retried

# Final states are never left; a late or repeated status never moves a message backwards.
_PROGRESS = {
    DeliveryState.QUEUED: 0,
    DeliveryState.SENT: 1,
    DeliveryState.DELIVERED: 2,
    DeliveryState.FAILED: 2,
}

# Far longer than any adapter may take to send, so a live worker never loses its lease.
LEASE = timedelta(minutes=5)
BATCH_SIZE = 20
# How long a provider's answer waits for the database to come back before it is given up.
RECORD_PATIENCE = 60.0
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)

log = logging.getLogger(__name__)


class AdapterRegistry:
    """One adapter per channel; the worker asks it who sends a message."""

    def __init__(self) -> None:
        self._adapters: dict[Channel, ChannelAdapter] = {}

    def register(self, adapter: ChannelAdapter) -> None:
        self._adapters[adapter.channel] = adapter

    def get(self, channel: Channel) -> ChannelAdapter | None:
        return self._adapters.get(channel)

    def channels(self) -> list[Channel]:
        return list(self._adapters)


def twilio_adapter(config: Mapping[str, Any]) -> TwilioSmsAdapter | None:
    """The SMS adapter for the configured Twilio account; None until credentials are set."""
    if not config.get("TWILIO_ACCOUNT_SID") or not config.get("TWILIO_AUTH_TOKEN"):
        return None
    account = TwilioAccount(
        config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config["TWILIO_API_URL"]
    )
    public_url = config["HELPDESK_PUBLIC_URL"].rstrip("/")
    return TwilioSmsAdapter(account, status_callback=f"{public_url}/webhooks/twilio/status")


class AttemptOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """An attachment to send, its bytes still in the blob store until the send itself."""

    filename: str
    content_type: str
    storage_key: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A message this worker holds the lease on, with everything its adapter needs."""

    message_id: int
    attempt_id: int
    lease_until: datetime
    outbound: OutboundMessage
    attachments: tuple[StoredAttachment, ...] = ()
    refusal: str | None = None  # why it must not go out after all (the number opted out)


@dataclass(slots=True)
class RunSummary:
    """How the attempts of one run ended."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def count(self, outcome: AttemptOutcome) -> None:
        if outcome == AttemptOutcome.SENT:
            self.sent += 1
        elif outcome == AttemptOutcome.RETRY:
            self.retrying += 1
        else:
            self.failed += 1

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}"


def adapters() -> AdapterRegistry:
    """The adapters registered on the running app."""
    return current_app.extensions["helpdesk.adapters"]


def run_due(
    worker_name: str,
    now: datetime | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunSummary:
    """Send every message due at ``now``, batch by batch; stop between messages when asked."""
    summary = RunSummary()
    while not should_stop() and (
        claims := retried(partial(claim_due, worker_name, now), "claiming the outbox")
    ):
        for position, claim in enumerate(claims):
            if should_stop():
                retried(partial(release, claims[position:]), "releasing claimed messages")
                break
            answer = send(claim)
            # Unrecorded, the message would go out again once its lease ran out: a database
            # that is restarting is waited for.
            outcome = retried(
                partial(record, claim, answer, now), "recording a delivery", RECORD_PATIENCE
            )
            summary.count(outcome)
    return summary


def claim_due(
    worker_name: str, now: datetime | None = None, limit: int = BATCH_SIZE
) -> list[Claim]:
    """Lease due messages of channels we can send on and log an attempt for each; commits."""
    at = now or utcnow()
    channels = adapters().channels()
    if not channels:
        return []
    messages = db.session.scalars(
        select(Message)
        .where(
            Message.direction == Direction.OUTBOUND,
            Message.delivery_state == DeliveryState.QUEUED,
            Message.next_attempt_at <= at,
            or_(Message.lease_until.is_(None), Message.lease_until <= at),
            Message.channel.in_(channels),
        )
        .order_by(Message.next_attempt_at, Message.id)
        .limit(limit)
        # Concurrent workers skip each other's rows instead of waiting (a no-op on SQLite).
        .with_for_update(skip_locked=True)
    ).all()
    attempts = []
    for message in messages:
        message.lease_until = at + LEASE
        message.attempt_count += 1
        attempts.append(DeliveryAttempt(message=message, worker=worker_name, started_at=at))
    db.session.add_all(attempts)
    db.session.flush()
    claims = [_claim(message, attempt) for message, attempt in zip(messages, attempts, strict=True)]
    # Commit before any network call: the lease is what keeps other workers away now.
    db.session.commit()
    return claims


def _claim(message: Message, attempt: DeliveryAttempt) -> Claim:
    in_reply_to, references = _thread_headers(message)
    # A text's files are fetched by the provider from signed links; others travel as bytes.
    by_link = message.channel == Channel.SMS
    outbound = OutboundMessage(
        channel=message.channel,
        endpoint=message.endpoint.address,
        to=message.recipient or "",
        text=message.text,
        subject=message.subject,
        html=message.html,
        cc=tuple(message.cc or ()),
        message_id=message.external_id if message.channel == Channel.EMAIL else None,
        in_reply_to=in_reply_to,
        references=references,
        reference=str(message.id),
        auto_submitted=message.auto_submitted,
        list_unsubscribe=outreach.unsubscribe_url(message.recipient or "")
        if message.channel == Channel.EMAIL and message.thread_reason == outreach.OPENING
        else None,
        media_urls=tuple(file_url(item) for item in message.attachments) if by_link else (),
    )
    stored = tuple(
        StoredAttachment(item.filename, item.content_type, item.storage_key)
        for item in message.attachments
        if not by_link
    )
    return Claim(
        message.id,
        attempt.id,
        message.lease_until,
        outbound,
        stored,
        refusal=service.delivery_block(message),
    )


def _thread_headers(message: Message) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To the customer's latest mail; References every earlier mail of the ticket."""
    if message.channel != Channel.EMAIL:
        return None, ()
    earlier = db.session.execute(
        select(Message.direction, Message.external_id)
        .where(
            Message.ticket_id == message.ticket_id,
            Message.channel == Channel.EMAIL,
            Message.direction != Direction.NOTE,
            Message.external_id.is_not(None),
            Message.id < message.id,
        )
        .order_by(Message.id)
    ).all()
    inbound = [external_id for direction, external_id in earlier if direction == Direction.INBOUND]
    return (inbound[-1] if inbound else None), tuple(external_id for _, external_id in earlier)


def send(claim: Claim) -> SendResult | DeliveryError:
    """Hand one claimed message to its adapter; every failure comes back as a value."""
    if not claim.outbound.to:
        return PermanentFailure("no-recipient", "the message has no recipient")
    if claim.refusal:
        return PermanentFailure("opted-out", claim.refusal)
    try:
        store = blob_store()
        attachments = tuple(
            OutboundAttachment(item.filename, item.content_type, store.get(item.storage_key))
            for item in claim.attachments
        )
        adapter = adapters().get(claim.outbound.channel)
        return adapter.send(replace(claim.outbound, attachments=attachments))
    except DeliveryError as error:
        return error
    except Exception as error:
        # An adapter bug or an error it did not translate: retrying may help, and the
        # attempt limit stops it from going on forever.
        log.exception("sending message %s failed unexpectedly", claim.message_id)
        return TemporaryFailure(type(error).__name__, str(error))


def record(
    claim: Claim, answer: SendResult | DeliveryError, now: datetime | None = None
) -> AttemptOutcome:
    """Log the answer on the attempt and, while our lease holds, on the message; commits."""
    at = now or utcnow()
    message = db.session.get(Message, claim.message_id, with_for_update=True)
    attempt = db.session.get(DeliveryAttempt, claim.attempt_id)
    attempt.finished_at = at
    if isinstance(answer, SendResult):
        attempt.outcome = AttemptOutcome.SENT
        attempt.provider_id = answer.provider_id
    else:
        attempt.outcome = _failure_outcome(answer, message, attempt)
        attempt.error_code, attempt.error_text = answer.code, answer.text
    if isinstance(answer, RecipientOptedOut):
        service.recipient_opted_out(message, answer, at)
    # After our lease ran out another worker took the message over; its answer decides.
    if message.lease_until == claim.lease_until:
        _apply(message, attempt, answer, at)
    db.session.commit()
    return AttemptOutcome(attempt.outcome)


def _failure_outcome(
    error: DeliveryError, message: Message, attempt: DeliveryAttempt
) -> AttemptOutcome:
    if not isinstance(error, TemporaryFailure):
        return AttemptOutcome.FAILED
    if message.attempt_count >= current_app.config["HELPDESK_MAX_SEND_ATTEMPTS"]:
        return AttemptOutcome.FAILED
    if isinstance(error, UncertainDelivery) and _may_have_gone_out_before(message, attempt):
        # One more send could make a second duplicate; a person decides (and may retry).
        return AttemptOutcome.FAILED
    return AttemptOutcome.RETRY


def _may_have_gone_out_before(message: Message, attempt: DeliveryAttempt) -> bool:
    """Whether an earlier attempt since the message was (re)queued got no clear answer."""
    this_round = message.attempts[-message.attempt_count :]
    return any(
        earlier.finished_at is None or earlier.error_code == UncertainDelivery.CODE
        for earlier in this_round
        if earlier is not attempt
    )


def _apply(
    message: Message,
    attempt: DeliveryAttempt,
    answer: SendResult | DeliveryError,
    at: datetime,
) -> None:
    message.lease_until = None
    if isinstance(answer, SendResult):
        # A status callback may have got here first and said more (delivered, failed).
        advance(message, DeliveryState.DELIVERED if answer.delivered else DeliveryState.SENT)
        if message.delivery_state != DeliveryState.FAILED:
            message.error_code = message.error_text = None
        if message.external_id is None:
            # SMS and chat learn their id from the provider; status callbacks look it up.
            message.external_id = answer.provider_id
        return
    message.error_code, message.error_text = answer.code, answer.text
    if attempt.outcome == AttemptOutcome.RETRY:
        message.next_attempt_at = at + retry_delay(message.attempt_count)
    else:
        message.delivery_state = DeliveryState.FAILED


def advance(
    message: Message,
    state: DeliveryState,
    error_code: str | None = None,
    error_text: str | None = None,
) -> bool:
    """Move the delivery state forward (a provider's status); False when it says nothing new."""
    current = message.delivery_state or DeliveryState.QUEUED
    if _PROGRESS[state] <= _PROGRESS[current]:
        return False
    message.delivery_state = state
    if state == DeliveryState.FAILED:
        message.error_code, message.error_text = error_code, error_text
    return True


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 30 s, doubling per attempt, at most an hour."""
    ceiling = min(RETRY_BASE * 2 ** min(attempts - 1, 20), RETRY_CAP)
    # Jitter spreads out retries of messages that failed together (a provider outage).
    return ceiling * random.uniform(0.5, 1.0)


def release(claims: Sequence[Claim]) -> None:
    """Give back leases not used yet, as if never claimed, so a stopping worker blocks nothing."""
    for claim in claims:
        message = db.session.get(Message, claim.message_id, with_for_update=True)
        if message.lease_until == claim.lease_until:
            message.lease_until = None
            message.attempt_count -= 1
            db.session.delete(db.session.get(DeliveryAttempt, claim.attempt_id))
    db.session.commit()
