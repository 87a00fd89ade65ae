"""Provider-hosted files (MMS pictures) fetched into storage after intake, outbox-style.

Intake records every item on its message at once with its ``source_url``; a worker job
claims due items under a lease, downloads them with no transaction open, and stores the
bytes. Failures are retried with the outbox's backoff up to the attempt limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from channels.base import Channel, DeliveryError, TemporaryFailure
from helpdesk.extensions import db
from helpdesk.models import Attachment, utcnow
from helpdesk.outbox import BATCH_SIZE, adapters, retry_delay
from helpdesk.storage import blob_store

# Far longer than one download may take, so a live worker never loses its claim.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class MediaClaim:
    attachment_id: int
    url: str
    attempts: int


@dataclass(slots=True)
class FetchSummary:
    stored: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"media stored {self.stored}, retrying {self.retrying}, failed {self.failed}"


def fetch_due(now: datetime | None = None) -> FetchSummary:
    """Download every MMS item that is due, batch by batch; commits after each item."""
    summary = FetchSummary()
    adapter = adapters().get(Channel.SMS)
    if adapter is None:
        return summary  # without Twilio credentials the items wait, recorded
    while claims := _claim_due(now or utcnow()):
        for claim in claims:
            try:
                data: bytes | DeliveryError = adapter.fetch_media(claim.url)
            except DeliveryError as error:
                data = error
            _record(claim, data, now or utcnow(), summary)
    return summary


def _claim_due(at: datetime) -> list[MediaClaim]:
    items = db.session.scalars(
        select(Attachment)
        .where(
            Attachment.storage_key.is_(None),
            Attachment.next_fetch_at <= at,
            Attachment.source_url.is_not(None),
        )
        .order_by(Attachment.next_fetch_at, Attachment.id)
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True)
    ).all()
    for item in items:
        item.next_fetch_at = at + LEASE
        item.fetch_attempts += 1
    claims = [MediaClaim(item.id, item.source_url, item.fetch_attempts) for item in items]
    # Commit before any download: the lease keeps other workers away from these rows now.
    db.session.commit()
    return claims


def _record(
    claim: MediaClaim, data: bytes | DeliveryError, at: datetime, summary: FetchSummary
) -> None:
    item = db.session.get(Attachment, claim.attachment_id, with_for_update=True)
    if isinstance(data, bytes):
        item.storage_key = blob_store().put(data)
        item.size = len(data)
        item.next_fetch_at = item.fetch_error = None
        summary.stored += 1
    elif isinstance(data, TemporaryFailure) and (
        claim.attempts < current_app.config["HELPDESK_MAX_SEND_ATTEMPTS"]
    ):
        item.fetch_error = f"{data.code}: {data.text}"
        item.next_fetch_at = at + retry_delay(claim.attempts)
        summary.retrying += 1
    else:
        # Given up: the item stays on the message with why it could not be fetched.
        item.fetch_error = f"{data.code}: {data.text}"
        item.next_fetch_at = None
        summary.failed += 1
    db.session.commit()
