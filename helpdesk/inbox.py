"""The webhook inbox: verified provider payloads stored as they come, made messages later.

A webhook verifies the provider's signature, checks the payload's shape and stores it here
(unique per provider id, so a retried webhook is stored once; the web process's writer in
inbox_writer.py commits the payloads of concurrent webhooks together) and answers as soon as
it is committed. The worker hands due items to the ticket service in batches, each in a savepoint:
a payload the service refuses keeps its reason here and is never lost. Each sender's items
become messages in the order they came in, however many workers share the inbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Connection, Insert, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from channels import sms
from channels.base import Channel, InboundMessage
from helpdesk.extensions import db
from helpdesk.models import InboxItem, utcnow
from helpdesk.outbox import retry_delay
from helpdesk.tickets import service
from helpdesk.tickets import sms as sms_service
from helpdesk.tickets.errors import TicketError
from helpdesk.transient import is_transient, retried

BATCH_SIZE = 50
# A batch commits once it has taken this long, items left or not: its locks (on SQLite the
# database's one write lock) must not keep the webhooks and the agents' replies waiting.
BATCH_SECONDS = 0.25
# SQLite hands its write lock to no one in particular: a request waiting for it tries again
# every 100 ms at most. Longer than that between two batches, and every waiting request has
# had its turn before the worker takes the lock again (a worker going at once starved them).
SQLITE_WRITERS_TURN = 0.11

log = logging.getLogger(__name__)


def _read_sms(payload: dict[str, Any], received_at: datetime) -> InboundMessage:
    return sms_service.inbound(replace(sms.parse(payload), received_at=received_at))


# What turns a stored payload of each channel into a message for the ticket service.
READERS: dict[Channel, Callable[[dict[str, Any], datetime], InboundMessage]] = {
    Channel.SMS: _read_sms,
}
# Refusals that another try cannot change.
_PERMANENT = (TicketError, sms.InvalidForm)


@dataclass(slots=True)
class IntakeSummary:
    stored: int = 0
    duplicates: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0  # left for the next round behind an older item of the same sender
    more_due: bool = False  # the batch was full or out of time: more items may be due now

    @property
    def taken(self) -> int:
        """Items handed to the ticket service, whatever came of them."""
        return self.stored + self.duplicates + self.retrying + self.failed

    def add(self, other: IntakeSummary) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.retrying += other.retrying
        self.failed += other.failed
        self.waiting += other.waiting

    def __str__(self) -> str:
        summary = (
            f"intake stored {self.stored}, duplicates {self.duplicates}, "
            f"retrying {self.retrying}, failed {self.failed}"
        )
        return f"{summary}, waiting {self.waiting}" if self.waiting else summary


def accept(
    connection: Connection,
    channel: Channel,
    external_id: str,
    payload: dict[str, Any],
    at: datetime | None = None,
    *,
    sender: str,
) -> bool:
    """Store a verified payload once; False when this provider id is already here.

    ``sender`` is the provider's own (for SMS the From number as Twilio sent it): the worker
    keeps each sender's items in their order by it.
    """
    row = new_item(channel, external_id, payload, at or utcnow(), sender=sender)
    result = connection.execute(inbox_insert(connection.dialect.name), row)
    return result.rowcount == 1


def new_item(
    channel: Channel, external_id: str, payload: dict[str, Any], at: datetime, *, sender: str
) -> dict[str, Any]:
    """The values of a fresh inbox row received at ``at``, due for intake at once."""
    return {
        "channel": channel,
        "external_id": external_id,
        "sender": sender,
        "payload": payload,
        "received_at": at,
        "next_attempt_at": at,
        "attempts": 0,
    }


def inbox_insert(dialect: str) -> Insert:
    """The insert of inbox rows on ``dialect`` that leaves a provider id already here alone."""
    return _INSERTS[dialect]


_INSERTS = {
    dialect: insert(InboxItem.__table__).on_conflict_do_nothing(
        index_elements=["channel", "external_id"]
    )
    for dialect, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


def process_due(now: datetime | None = None, budget: float | None = None) -> IntakeSummary:
    """Hand every due item to the ticket service, oldest first; commits once per batch.

    With a ``budget`` (seconds) it stops after the batch that used it up, and ``more_due``
    says whether items were left. A batch that meets a transient database error (a deadlock,
    a lost connection) is undone and claimed again at once, a few times; its items count no
    attempt for it.
    """
    summary = IntakeSummary()
    started = time.monotonic()
    while batch := retried(lambda: _take_batch(now or utcnow()), "taking in webhook payloads"):
        summary.add(batch)
        if not batch.taken:
            # All of it waits behind another worker's batch: claim again next round.
            break
        if budget is not None and time.monotonic() - started >= budget:
            summary.more_due = batch.more_due
            break
        if batch.more_due and db.engine.dialect.name == "sqlite":
            time.sleep(SQLITE_WRITERS_TURN)
    return summary


def _take_batch(at: datetime) -> IntakeSummary | None:
    """Claim due items and take them in, in one transaction; None when none is due.

    The senders' locks are taken first, all together in one order (two workers' batches
    never wait for each other in a circle), and outside the items' savepoints, so that they
    hold until the commit.
    """
    items = _due(at)
    if not items:
        return None
    batch = IntakeSummary(more_due=len(items) == BATCH_SIZE)
    read = {item.id: _read(item) for item in items}
    service.serialise_intakes(msg for msg in read.values() if isinstance(msg, InboundMessage))
    waiting = _behind_older(items, at)
    started = time.monotonic()
    for item in items:
        if batch.taken and time.monotonic() - started > BATCH_SECONDS:
            # The rest stay due, and the next batch takes them in their order.
            batch.more_due = True
            break
        if item.id in waiting:
            batch.waiting += 1
        else:
            _process(item, read[item.id], batch)
    db.session.commit()
    return batch


def _due(at: datetime) -> list[InboxItem]:
    return list(
        db.session.scalars(
            select(InboxItem)
            .where(InboxItem.processed_at.is_(None), InboxItem.next_attempt_at <= at)
            .order_by(InboxItem.id)
            .limit(BATCH_SIZE)
            # Concurrent workers take different items (a no-op on SQLite, which runs one).
            .with_for_update(skip_locked=True)
        )
    )


def _read(item: InboxItem) -> InboundMessage | Exception:
    """The item as the ticket service takes it, or why it cannot be read."""
    try:
        return READERS[item.channel](item.payload, item.received_at)
    except Exception as error:
        if is_transient(error):
            raise
        return error


def _behind_older(items: list[InboxItem], at: datetime) -> set[int]:
    """Items that must wait: an older one of the same sender is due and not in this batch.

    Another worker holds it (it claimed it first, or took it over from a killed worker), or it
    came in after our claim. Asked with the senders' locks held, so an older item that the
    other worker finished meanwhile no longer counts.
    """
    senders = {(item.channel, item.sender) for item in items if item.sender}
    if not senders:
        return set()
    oldest = {
        (channel, sender): older
        for channel, sender, older in db.session.execute(
            select(InboxItem.channel, InboxItem.sender, func.min(InboxItem.id))
            .where(
                tuple_(InboxItem.channel, InboxItem.sender).in_(senders),
                InboxItem.processed_at.is_(None),
                InboxItem.next_attempt_at <= at,
                InboxItem.id.not_in([item.id for item in items]),
            )
            .group_by(InboxItem.channel, InboxItem.sender)
        )
    }
    return {
        item.id
        for item in items
        if (older := oldest.get((item.channel, item.sender))) is not None and older < item.id
    }


def _process(item: InboxItem, read: InboundMessage | Exception, summary: IntakeSummary) -> None:
    item.attempts += 1
    if isinstance(read, Exception):
        _failed(item, read, summary)
        return
    try:
        with db.session.begin_nested():
            message = service.receive(read)
    except Exception as error:
        if is_transient(error):
            raise  # the whole batch is taken again (process_due)
        _failed(item, error, summary)
        return
    item.processed_at = utcnow()
    item.next_attempt_at = item.error = None
    item.message_id = message.id if message else None
    if message is None:
        summary.duplicates += 1
    else:
        summary.stored += 1


def _failed(item: InboxItem, error: Exception, summary: IntakeSummary) -> None:
    item.error = f"{type(error).__name__}: {error}"
    retry = not isinstance(error, _PERMANENT) and (
        item.attempts < current_app.config["HELPDESK_MAX_SEND_ATTEMPTS"]
    )
    if not isinstance(error, _PERMANENT):
        log.error("intake of %s %s failed", item.channel.value, item.external_id, exc_info=error)
    if retry:
        item.next_attempt_at = utcnow() + retry_delay(item.attempts)
        summary.retrying += 1
    else:
        # Kept with its reason for an admin to see; the customer's text is not lost.
        item.next_attempt_at = None
        summary.failed += 1
