"""API views to subscribe, list and remove webhook endpoints (admin tokens only)."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import TokenScope, WebhookEndpoint
from helpdesk.web.api import bp, webhook_schemas
from helpdesk.web.api.auth import ADMINS, api_user, require_role
from helpdesk.web.api.errors import found, invalid
from helpdesk.web.api.openapi import operation
from helpdesk.webhooks import endpoints


@bp.post("/webhooks")
@operation(
    "createWebhook",
    (201, webhook_schemas.NewWebhookAnswer, "The endpoint, with its secret (shown only now)."),
    (401, 403),
    json=webhook_schemas.NewWebhook,
    scope=TokenScope.ADMIN,
)
def create_webhook() -> tuple[webhook_schemas.NewWebhookAnswer, int]:
    """Subscribe a URL to events (admins)

    Every event is POSTed as `{"type", "id", "timestamp", "data"}`, signed the Standard
    Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`), at least once and in
    order per ticket. A plain-HTTP or private target is refused with 400 `invalid`.
    """
    _admin()
    body: webhook_schemas.NewWebhook = request.context.json
    try:
        endpoint, _ = endpoints.subscribe(body.url, list(body.events), api_user())
    except endpoints.InvalidSubscription as refusal:
        raise invalid(f"{refusal.field}: {refusal}", refusal.field) from refusal
    db.session.commit()
    # The answer reads the secret from the endpoint: this is the only time it is shown.
    return webhook_schemas.NewWebhookAnswer.model_validate(endpoint), 201


@bp.get("/webhooks")
@operation(
    "listWebhooks",
    (200, webhook_schemas.WebhookList, "Every endpoint."),
    (401, 403),
    scope=TokenScope.ADMIN,
)
def list_webhooks() -> webhook_schemas.WebhookList:
    """The subscribed endpoints, paused ones with the reason (admins)"""
    _admin()
    rows = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    return webhook_schemas.WebhookList(items=rows)


@bp.delete("/webhooks/<int:webhook_id>")
@operation(
    "deleteWebhook",
    (204, None, "Removed, with its queued events and log."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def delete_webhook(webhook_id: int) -> tuple[str, int]:
    """Remove an endpoint (admins)"""
    _admin()
    endpoint = found(WebhookEndpoint, webhook_id, "webhook")
    endpoints.remove(endpoint)
    db.session.commit()
    return "", 204


def _admin() -> None:
    require_role(ADMINS, "webhooks are for admins")
