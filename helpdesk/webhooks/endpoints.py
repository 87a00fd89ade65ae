"""What admins do with webhook endpoints (on the admin pages and through the API alike):
subscribe, change the URL or events, rotate the secret, pause, resume, remove, read the delivery
log and send an event again. Each write flushes; the caller commits (and is audited)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import (
    EVENT_TYPES,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookState,
    utcnow,
)
from helpdesk.webhooks import signing
from helpdesk.webhooks.targets import UnsafeTarget, check_url

# How long the secret before a rotation still signs, so receivers can switch without a gap.
ROTATION_OVERLAP = timedelta(hours=24)
PAUSED_BY_ADMIN = "Paused by an admin."


class InvalidSubscription(ValueError):
    """A URL or list of events that cannot be subscribed; ``field`` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def subscribe(url: str, events: list[str], by: User | None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint for ``events`` at ``url``; returns it and its secret (shown only now)."""
    url = url.strip()
    _check_target(url)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(url=url, events=checked_events(events), secret=secret, created_by=by)
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.created", "webhook", endpoint.id, after=_shown(endpoint))
    return endpoint, secret


def checked_events(events: list[str]) -> list[str]:
    """The events in the order DESIGN lists them; an unknown or empty list is refused."""
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidSubscription("events", f"Unknown events: {', '.join(unknown)}.")
    if not events:
        raise InvalidSubscription("events", "Choose at least one event.")
    return [name for name in EVENT_TYPES if name in events]


def change(
    endpoint: WebhookEndpoint, *, url: str | None = None, events: list[str] | None = None
) -> None:
    """Send the endpoint's events to ``url`` and subscribe it to exactly ``events`` from now on
    (each left as it is when None); the URL passes the same check as a new one."""
    before = _shown(endpoint)
    if url is not None:
        url = url.strip()
        _check_target(url)
        endpoint.url = url
    if events is not None:
        endpoint.events = checked_events(events)
    audit.record("webhook.changed", "webhook", endpoint.id, before, _shown(endpoint))
    db.session.flush()


def rotate_secret(endpoint: WebhookEndpoint, now: datetime | None = None) -> str:
    """A new signing secret; the old one keeps signing beside it for a day. Returns the new."""
    at = now or utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = at + ROTATION_OVERLAP
    endpoint.secret = signing.new_secret()
    audit.record("webhook.secret_rotated", "webhook", endpoint.id, after={"secret": "(changed)"})
    db.session.flush()
    return endpoint.secret


def pause(endpoint: WebhookEndpoint, reason: str) -> None:
    """Hold the endpoint's events (they keep queueing) until it is resumed."""
    endpoint.paused_at, endpoint.pause_reason = utcnow(), reason
    audit.record("webhook.paused", "webhook", endpoint.id, after={"reason": reason})
    db.session.flush()


def resume(endpoint: WebhookEndpoint) -> None:
    """Send the held events again, each from a fresh 24-hour retry window."""
    audit.record("webhook.resumed", "webhook", endpoint.id, {"reason": endpoint.pause_reason})
    endpoint.paused_at = endpoint.pause_reason = None
    db.session.execute(
        WebhookDelivery.__table__.update()
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.state == WebhookState.PENDING,
        )
        .values(next_attempt_at=utcnow(), failing_since=None)
    )
    db.session.flush()


def remove(endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its outbox and log."""
    audit.record("webhook.deleted", "webhook", endpoint.id, before=_shown(endpoint))
    ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.flush()


def redeliver(delivery: WebhookDelivery) -> None:
    """Send an event again, with the same id (receivers de-duplicate on it)."""
    audit.record(
        "webhook.redelivered", "webhook", delivery.endpoint_id, after={"event": delivery.event_id}
    )
    delivery.state = WebhookState.PENDING
    delivery.next_attempt_at, delivery.failing_since = utcnow(), None
    db.session.flush()


def delivery_counts(endpoint: WebhookEndpoint) -> dict[WebhookState, int]:
    """How many of the endpoint's events are in each state (every state named, zeros too)."""
    counted = db.session.execute(
        select(WebhookDelivery.state, func.count())
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .group_by(WebhookDelivery.state)
    ).all()
    return {state: 0 for state in WebhookState} | {state: count for state, count in counted}


def attempts_of(deliveries: list[WebhookDelivery]) -> dict[int, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first, by delivery id (one query for all)."""
    found: dict[int, list[WebhookAttempt]] = {delivery.id: [] for delivery in deliveries}
    if found:
        for attempt in db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(found))
            .order_by(WebhookAttempt.id)
        ):
            found[attempt.delivery_id].append(attempt)
    return found


def _shown(endpoint: WebhookEndpoint) -> dict[str, object]:
    """The endpoint as the audit trail keeps it: never its secrets."""
    return {"url": endpoint.url, "events": list(endpoint.events)}


def _check_target(url: str) -> None:
    try:
        check_url(url, current_app.config["HELPDESK_WEBHOOKS_ALLOW_PRIVATE"])
    except UnsafeTarget as refusal:
        raise InvalidSubscription("url", str(refusal)) from refusal
