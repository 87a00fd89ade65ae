"""Outgoing webhooks: subscribed endpoints, the durable outbox of deliveries, and each attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.models.base import UtcDateTime, enum_column, utcnow
from helpdesk.models.people import User

# DESIGN's event names, in the order pages and the API list them.
EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "ticket.merged",
    "ticket.split",
    "message.created",
    "message.delivery",
    "survey.answered",
    "customer.merged",
    "customer.erased",
)


class WebhookState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(db.Model):
    """An HTTPS URL subscribed to some events, with its signing secret (and the one before it,
    still valid until ``previous_secret_expires_at`` so receivers can rotate without a gap)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    enabled: Mapped[bool] = mapped_column(default=True)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pause_reason: Mapped[str | None] = mapped_column(String(500))
    # A worker delivering to this endpoint holds it until then, so only one sends its events.
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()


class WebhookDelivery(db.Model):
    """One event for one endpoint: written with the change that caused it, sent by the worker."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "endpoint_id", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    # Events about one ticket reach one endpoint in the order they were written.
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    customer_id: Mapped[int | None] = mapped_column(index=True)
    payload: Mapped[dict | None] = mapped_column(JSON)
    state: Mapped[WebhookState] = mapped_column(
        enum_column(WebhookState), default=WebhookState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When the current run of failures began: retries stop 24 hours after it.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status: Mapped[int | None] = mapped_column()
    last_response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()


class WebhookAttempt(db.Model):
    """One try at sending a delivery: what the endpoint answered (or why nothing came back)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[int | None] = mapped_column()
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(200))

    delivery: Mapped[WebhookDelivery] = relationship()
