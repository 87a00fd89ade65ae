"""The worker's side of webhooks: send each endpoint's due events, signed, in order per ticket,
retrying from 10 s doubling to 1 h for 24 h, then pausing the endpoint with the reason.

Each endpoint is worked by one thread at a time under a lease in its row (claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share endpoints without waiting
on each other). That thread claims the endpoint's due events in batches, one query each, and
hands them to a small pool of sender threads (``HELPDESK_WEBHOOK_CONCURRENCY``): events of
different tickets go in parallel, those of one ticket one after another on one sender, each
sender keeping its connection open. Endpoints run in threads of their own, each request with
a short timeout, so a slow or dead receiver only ever holds up its own events.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from flask import Flask, current_app
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import aliased

from helpdesk.extensions import db
from helpdesk.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookState,
    utcnow,
)
from helpdesk.webhooks import signing
from helpdesk.webhooks.transport import Outcome, PinnedClient

FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(minutes=2)
# An endpoint's thread hands it back after this long, so the lease never runs out mid-send.
TURN_SECONDS = 60.0
# Events claimed at once per sender thread: enough to keep every sender busy through a batch,
# few enough that a crash resends little (outcomes are committed once per batch).
BATCH_PER_SENDER = 25
THREADS = 8


@dataclass(frozen=True, slots=True)
class DueEvent:
    """A claimed delivery with what a sender thread needs, so no thread but the endpoint's
    touches the database."""

    delivery_id: int
    ticket_id: int | None
    event_id: str
    body: bytes


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: 10 s doubling, at most 1 h."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


def deliver_due(worker: str, now: datetime | None = None) -> int:
    """Send every endpoint's due events, endpoints in parallel; returns how many were sent."""
    app = current_app._get_current_object()
    endpoint_ids = claim_endpoints(worker, now)
    if not endpoint_ids:
        return 0
    with ThreadPoolExecutor(max_workers=min(THREADS, len(endpoint_ids))) as pool:
        counts = pool.map(lambda i: _in_context(app, i, worker, now), endpoint_ids)
        return sum(counts)


class Dispatcher:
    """The worker's webhook job: hands each claimable endpoint to a thread and returns at once,
    so the worker's loop (and every other endpoint) never waits on a slow receiver."""

    def __init__(self, worker: str) -> None:
        self.worker = worker
        self.pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="webhooks")
        self.running: set[int] = set()
        self.lock = threading.Lock()

    def run(self) -> None:
        """Start a thread for every endpoint with due events that none is working yet."""
        app = current_app._get_current_object()
        with self.lock:
            busy = set(self.running)
        for endpoint_id in claim_endpoints(self.worker, None, skip=busy):
            with self.lock:
                self.running.add(endpoint_id)
            self.pool.submit(self._work, app, endpoint_id)

    def _work(self, app: Flask, endpoint_id: int) -> None:
        try:
            _in_context(app, endpoint_id, self.worker, None)
        except Exception:
            app.logger.exception("webhooks: delivering to endpoint %s failed", endpoint_id)
        finally:
            with self.lock:
                self.running.discard(endpoint_id)


def claim_endpoints(
    worker: str, now: datetime | None, skip: set[int] | frozenset[int] = frozenset()
) -> list[int]:
    """Lease every endpoint that has a due event and no live lease; commits."""
    at = now or utcnow()
    due = exists().where(
        WebhookDelivery.endpoint_id == WebhookEndpoint.id,
        WebhookDelivery.state == WebhookState.PENDING,
        WebhookDelivery.next_attempt_at <= at,
    )
    rows = db.session.scalars(
        select(WebhookEndpoint)
        .where(
            WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.paused_at.is_(None),
            or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < utcnow()),
            due,
        )
        .order_by(WebhookEndpoint.id)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = [row for row in rows if row.id not in skip]
    for row in claimed:
        row.lease_owner, row.lease_until = worker, utcnow() + LEASE
    db.session.commit()
    return [row.id for row in claimed]


def _in_context(app: Flask, endpoint_id: int, worker: str, now: datetime | None) -> int:
    # A thread of its own needs an app context of its own, and so a database session of its own.
    with app.app_context():
        try:
            return deliver_endpoint(endpoint_id, worker, now)
        finally:
            db.session.rollback()
            _release(endpoint_id, worker)


def deliver_endpoint(endpoint_id: int, worker: str, now: datetime | None = None) -> int:
    """Send one leased endpoint's due events, batch by batch, until none is due, the endpoint
    is paused, or its turn is over; each batch's outcomes are committed together. Returns how
    many were sent."""
    config = current_app.config
    concurrency = config["HELPDESK_WEBHOOK_CONCURRENCY"]
    started, sent = time.monotonic(), 0
    with Senders(concurrency, config["HELPDESK_WEBHOOKS_ALLOW_PRIVATE"]) as senders:
        while time.monotonic() - started < TURN_SECONDS:
            endpoint = db.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
            if endpoint is None or endpoint.paused_at is not None:
                break
            batch = claim_batch(endpoint_id, now or utcnow(), concurrency * BATCH_PER_SENDER)
            url, secrets = endpoint.url, secrets_in_use(endpoint)
            # Ends the claim's transaction: no lock is held while receivers take their time.
            db.session.commit()
            if not batch:
                break
            sent += record_batch(senders.send(url, secrets, batch), worker, now)
            db.session.commit()
    return sent


def claim_batch(endpoint_id: int, at: datetime, size: int) -> list[DueEvent]:
    """The endpoint's oldest due events, up to ``size``, leaving out any whose ticket has an
    earlier event still waiting for a retry (it goes first). Rows another transaction holds
    (an erasure deleting a ticket's events) are skipped on PostgreSQL, not waited for."""
    earlier = aliased(WebhookDelivery)
    held_back = exists().where(
        earlier.ticket_id == WebhookDelivery.ticket_id,
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.state == WebhookState.PENDING,
        earlier.next_attempt_at > at,
        earlier.id < WebhookDelivery.id,
    )
    rows = db.session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.ticket_id,
            WebhookDelivery.event_id,
            WebhookDelivery.payload,
        )
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.state == WebhookState.PENDING,
            WebhookDelivery.next_attempt_at <= at,
            ~held_back,
        )
        .order_by(WebhookDelivery.id)
        .limit(size)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    return [DueEvent(row.id, row.ticket_id, row.event_id, _body(row.payload)) for row in rows]


def _body(payload: dict | None) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class Senders:
    """An endpoint's sender threads, each with an HTTP client (and connections) of its own."""

    def __init__(self, count: int, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="webhook-sender")
        self.local = threading.local()
        self.clients: list[PinnedClient] = []
        self.lock = threading.Lock()

    def __enter__(self) -> Senders:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.pool.shutdown(wait=True)
        for client in self.clients:
            client.close()

    def send(
        self, url: str, secrets: list[str], batch: list[DueEvent]
    ) -> list[tuple[DueEvent, Outcome]]:
        """Send a batch: each ticket's events in order on one sender, tickets in parallel."""
        lanes = self.pool.map(lambda lane: self._send_lane(url, secrets, lane), _lanes(batch))
        return [sent for lane in lanes for sent in lane]

    def _send_lane(
        self, url: str, secrets: list[str], lane: list[DueEvent]
    ) -> list[tuple[DueEvent, Outcome]]:
        client = self._client()
        done = []
        for due in lane:
            # The signature's time is the real one, so receivers' replay windows hold on retries.
            headers = signing.headers(secrets, due.event_id, int(time.time()), due.body)
            outcome = client.post(url, due.body, headers)
            done.append((due, outcome))
            if not outcome.ok:
                break  # the ticket's later events wait behind this one
        return done

    def _client(self) -> PinnedClient:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = PinnedClient(self.allow_private)
            with self.lock:
                self.clients.append(client)
        return client


def _lanes(batch: list[DueEvent]) -> Iterator[list[DueEvent]]:
    """The batch split into runs that must go in order: one per ticket; an event about no
    ticket (a customer's) runs alone."""
    by_ticket: dict[int, list[DueEvent]] = {}
    for due in batch:
        if due.ticket_id is None:
            yield [due]
        else:
            by_ticket.setdefault(due.ticket_id, []).append(due)
    yield from by_ticket.values()


def record_batch(
    outcomes: list[tuple[DueEvent, Outcome]], worker: str, now: datetime | None
) -> int:
    """Log a batch's attempts and move its deliveries on; flushes. A delivery deleted while
    it was out (its customer erased, its endpoint removed) is left gone. Returns how many
    were delivered."""
    ids = sorted(due.delivery_id for due, _ in outcomes)
    # Locked in id order, as every transaction takes locks on several rows.
    rows = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
        .with_for_update()
    )
    deliveries = {row.id: row for row in rows}
    sent = 0
    for due, outcome in outcomes:
        delivery = deliveries.get(due.delivery_id)
        if delivery is not None:
            record_outcome(delivery, outcome, worker, now or outcome.at)
            sent += outcome.ok
    db.session.flush()
    return sent


def secrets_in_use(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    at = now or utcnow()
    keep = endpoint.previous_secret and (
        endpoint.previous_secret_expires_at is None or endpoint.previous_secret_expires_at > at
    )
    return [endpoint.secret, endpoint.previous_secret] if keep else [endpoint.secret]


def record_outcome(delivery: WebhookDelivery, outcome: Outcome, worker: str, at: datetime) -> None:
    """Log the attempt and move the delivery on: delivered, retried later, or failed (and its
    endpoint paused) once it has failed for 24 hours."""
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            at=at,
            status=outcome.status,
            response_excerpt=outcome.excerpt,
            duration_ms=outcome.duration_ms,
            worker=worker,
        )
    )
    delivery.attempts += 1
    delivery.last_status, delivery.last_response = outcome.status, outcome.excerpt
    if outcome.ok:
        delivery.state, delivery.delivered_at, delivery.failing_since = (
            WebhookState.DELIVERED,
            at,
            None,
        )
    else:
        _failed(delivery, outcome, at)


def _failed(delivery: WebhookDelivery, outcome: Outcome, at: datetime) -> None:
    delivery.failing_since = delivery.failing_since or at
    if at - delivery.failing_since < GIVE_UP_AFTER:
        delivery.next_attempt_at = at + retry_delay(delivery.attempts)
        return
    delivery.state = WebhookState.FAILED
    endpoint = delivery.endpoint
    answered = f"HTTP {outcome.status}" if outcome.status else outcome.excerpt[:200]
    endpoint.paused_at = at
    endpoint.pause_reason = (
        f"Event {delivery.event_id} ({delivery.event_type}) failed for 24 hours; "
        f"last answer: {answered}"
    )


def _release(endpoint_id: int, worker: str) -> None:
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_owner == worker)
        .values(lease_owner=None, lease_until=None)
    )
    db.session.commit()
