"""The API's shapes for a webhook endpoint's delivery log."""

from __future__ import annotations

from pydantic import Field

from helpdesk.models import WebhookAttempt, WebhookDelivery, WebhookState
from helpdesk.web.api.schemas import Response, Timestamp


class DeliveryAttempt(Response):
    """One try at sending: what the receiver answered, or why nothing came back."""

    at: Timestamp
    status: int | None = Field(description="The HTTP status; null when nothing answered.")
    response_excerpt: str | None = Field(
        description="The start of the answer's body, or the connection error, or why the "
        "target was refused (`refused: …`)."
    )
    duration_ms: int


class Delivery(Response):
    """One event for this endpoint, with every attempt at sending it."""

    id: int
    event_id: str = Field(description="The `webhook-id` the receiver sees (and de-duplicates on).")
    event_type: str
    state: WebhookState = Field(
        description="`pending` (waiting to be sent, or between retries), `delivered`, or "
        "`failed` (after 24 hours of failures)."
    )
    created_at: Timestamp
    next_attempt_at: Timestamp | None = Field(
        description="When the next try is due, while pending; null otherwise."
    )
    delivered_at: Timestamp | None
    attempts: list[DeliveryAttempt] = Field(description="Every try, oldest first.")

    @classmethod
    def of(cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> Delivery:
        """The delivery as the API shows it, with its attempts."""
        pending = delivery.state == WebhookState.PENDING
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            state=delivery.state,
            created_at=delivery.created_at,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            delivered_at=delivery.delivered_at,
            attempts=[DeliveryAttempt.model_validate(attempt) for attempt in attempts],
        )


class DeliveryPage(Response):
    items: list[Delivery]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )
