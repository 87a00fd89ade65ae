"""The webhook inbox: verified provider payloads stored as they come, made messages later.

A webhook verifies the provider's signature, checks the payload's shape and stores it here
with one insert (unique per provider id, so a retried webhook is stored once) and answers
at once. The worker hands due items to the ticket service in batches, each in a savepoint:
a payload the service refuses keeps its reason here and is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from channels import sms
from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import InboxItem, Message, utcnow
from helpdesk.outbox import retry_delay
from helpdesk.tickets import sms as sms_service
from helpdesk.tickets.errors import TicketError

BATCH_SIZE = 50

log = logging.getLogger(__name__)


def _receive_sms(payload: dict[str, Any], received_at: datetime) -> Message | None:
    return sms_service.receive(replace(sms.parse(payload), received_at=received_at))


# What turns a stored payload of each channel into a message.
INTAKE: dict[Channel, Callable[[dict[str, Any], datetime], Message | None]] = {
    Channel.SMS: _receive_sms,
}
# Refusals that another try cannot change.
_PERMANENT = (TicketError, sms.InvalidForm)


@dataclass(slots=True)
class IntakeSummary:
    stored: int = 0
    duplicates: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return (
            f"intake stored {self.stored}, duplicates {self.duplicates}, "
            f"retrying {self.retrying}, failed {self.failed}"
        )


def accept(
    connection: Connection,
    channel: Channel,
    external_id: str,
    payload: dict[str, Any],
    at: datetime | None = None,
) -> bool:
    """Store a verified payload once; False when this provider id is already here."""
    at = at or utcnow()
    result = connection.execute(
        _INSERTS[connection.dialect.name],
        {
            "channel": channel,
            "external_id": external_id,
            "payload": payload,
            "received_at": at,
            "next_attempt_at": at,
            "attempts": 0,
        },
    )
    return result.rowcount == 1


_INSERTS = {
    dialect: insert(InboxItem.__table__).on_conflict_do_nothing(
        index_elements=["channel", "external_id"]
    )
    for dialect, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


def process_due(now: datetime | None = None) -> IntakeSummary:
    """Hand every due item to the ticket service, oldest first; commits once per batch."""
    summary = IntakeSummary()
    while items := _due(now or utcnow()):
        for item in items:
            _process(item, summary)
        db.session.commit()
    return summary


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


def _process(item: InboxItem, summary: IntakeSummary) -> None:
    item.attempts += 1
    try:
        with db.session.begin_nested():
            message = INTAKE[item.channel](item.payload, item.received_at)
    except Exception as error:
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
        log.exception("intake of %s %s failed", item.channel.value, item.external_id)
    if retry:
        item.next_attempt_at = utcnow() + retry_delay(item.attempts)
        summary.retrying += 1
    else:
        # Kept with its reason for an admin to see; the customer's text is not lost.
        item.next_attempt_at = None
        summary.failed += 1
