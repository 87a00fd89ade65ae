"""The API's shapes for webhook endpoints: a subscription, its changes, its secret."""

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


class WebhookDetail(Webhook):
    """An endpoint with how many of its events wait and how many failed for good."""

    queued: int = Field(description="Events waiting to be sent (new, or between retries).")
    failed: int = Field(
        description="Events that failed for 24 hours (the endpoint paused on the first)."
    )
    delivered: int


class WebhookChanges(Request):
    """What to change; fields left out stay as they are."""

    url: str | None = Field(
        None,
        max_length=2000,
        description="Where events go from now on, checked as a new endpoint's URL is.",
    )
    events: list[EventType] | None = Field(
        None, min_length=1, description="The events to send there from now on (all of them)."
    )
    paused: bool | None = Field(
        None,
        description="`false` resumes a paused endpoint: its queued events go, oldest first, "
        "each with a fresh 24-hour retry window. `true` holds them (they keep queueing).",
    )


class RotatedSecret(WebhookDetail):
    """The endpoint with its new signing secret: keep it, it is shown only this once."""

    secret: str = Field(description="The new `whsec_…` secret; requests are signed with it.")
    previous_secret_expires_at: Timestamp = Field(
        description="Until then every request carries a second signature, by the old secret."
    )
