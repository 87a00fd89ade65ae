"""The API's shapes for webhook endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from helpdesk.models import EVENT_TYPES
from helpdesk.web.api.schemas import Request, Response, Timestamp

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class NewWebhook(Request):
    url: str = Field(
        max_length=2000,
        description="An https:// URL on a public address (private, loopback and link-local "
        "ones are refused unless the installation allows them).",
    )
    events: list[EventType] = Field(min_length=1, description="The events to send there.")


class Webhook(Response):
    """A subscribed endpoint; its secret is never shown again after it was made."""

    id: int
    url: str
    events: list[str]
    paused_at: Timestamp | None = Field(description="When deliveries were paused, or null.")
    pause_reason: str | None = Field(description="Why: the event that kept failing, and how.")
    created_at: Timestamp


class NewWebhookAnswer(Webhook):
    """The endpoint just made, with its signing secret: keep it, it is shown only this once."""

    secret: str = Field(description="`whsec_…`: verify `webhook-signature` with it.")


class WebhookList(Response):
    items: list[Webhook]
