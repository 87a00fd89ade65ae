"""The worker's side of webhooks: send each endpoint's due events, signed, in order per ticket,
retrying from 10 s doubling to 1 h for 24 h, then pausing the endpoint with the reason.

Each endpoint is worked by one thread at a time under a lease in its row (claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share endpoints without waiting
on each other). Endpoints run in parallel threads, each request with a short timeout, so a
slow or dead receiver only ever holds up its own events.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import Flask, current_app
from sqlalchemy import exists, or_, select, update

from helpdesk.extensions import db
from helpdesk.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookState,
    utcnow,
)
from helpdesk.webhooks import signing
from helpdesk.webhooks.targets import UnsafeTarget, check_url

FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
TIMEOUT_SECONDS = (3.0, 10.0)  # connect, read
LEASE = timedelta(minutes=2)
# An endpoint's thread hands it back after this long, so the lease never runs out mid-send.
TURN_SECONDS = 60.0
EXCERPT = 500
# Outcomes are committed together at most this often: a crash in between sends those events
# again, with the same ids (at least once), and the outbox is not a commit per request.
COMMIT_SECONDS = 0.5
THREADS = 8


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one send got back: the HTTP status (None when nothing answered) and an excerpt."""

    status: int | None
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


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
    """Send one leased endpoint's due events, oldest first; a ticket whose earlier event is
    still waiting keeps its later ones waiting too. Commits every half second and at the end;
    returns how many were sent."""
    started = committed = time.monotonic()
    sent, blocked = 0, set()
    allow_private = current_app.config["HELPDESK_WEBHOOKS_ALLOW_PRIVATE"]
    with requests.Session() as http:  # one connection pool for the turn, not one per event
        for delivery_id in _pending_ids(endpoint_id):
            if time.monotonic() - started > TURN_SECONDS:
                break
            delivery = db.session.get(WebhookDelivery, delivery_id)
            if delivery.endpoint.paused_at is not None:
                break
            at = now or utcnow()
            ordered = delivery.ticket_id is not None
            if ordered and delivery.ticket_id in blocked:
                continue
            if delivery.next_attempt_at > at:
                if ordered:
                    blocked.add(delivery.ticket_id)
                continue
            outcome = send(delivery.endpoint, delivery, allow_private, http)
            record_outcome(delivery, outcome, worker, at)
            if time.monotonic() - committed > COMMIT_SECONDS:
                db.session.commit()
                committed = time.monotonic()
            if outcome.ok:
                sent += 1
            elif ordered:
                blocked.add(delivery.ticket_id)
    db.session.commit()
    return sent


def _pending_ids(endpoint_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.state == WebhookState.PENDING,
            )
            .order_by(WebhookDelivery.id)
            .limit(1000)
        )
    )


def secrets_in_use(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    at = now or utcnow()
    keep = endpoint.previous_secret and (
        endpoint.previous_secret_expires_at is None or endpoint.previous_secret_expires_at > at
    )
    return [endpoint.secret, endpoint.previous_secret] if keep else [endpoint.secret]


def send(
    endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
    allow_private: bool,
    http: requests.Session,
) -> Outcome:
    """POST one signed event; never raises for the receiver's trouble."""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    # The signature's time is the real one, so receivers' replay windows hold even on retries.
    stamp = int(time.time())
    try:
        check_url(endpoint.url, allow_private)
        answer = http.post(
            endpoint.url,
            data=body,
            headers=signing.headers(secrets_in_use(endpoint), delivery.event_id, stamp, body),
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except UnsafeTarget as refusal:
        return Outcome(None, f"refused: {refusal}")
    except requests.RequestException as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:EXCERPT])
    return Outcome(answer.status_code, answer.text[:EXCERPT])


def record_outcome(delivery: WebhookDelivery, outcome: Outcome, worker: str, at: datetime) -> None:
    """Log the attempt and move the delivery on: delivered, retried later, or failed (and its
    endpoint paused) once it has failed for 24 hours; flushes."""
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            at=at,
            status=outcome.status,
            response_excerpt=outcome.excerpt,
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
    db.session.flush()


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
