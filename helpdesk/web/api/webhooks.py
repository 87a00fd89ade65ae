"""API views to subscribe, list, read, change, rotate and remove webhook endpoints (admins),
through the same services as the admin pages."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import TokenScope, WebhookEndpoint, WebhookState
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


@bp.get("/webhooks/<int:webhook_id>")
@operation(
    "getWebhook",
    (200, webhook_schemas.WebhookDetail, "The endpoint."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def get_webhook(webhook_id: int) -> webhook_schemas.WebhookDetail:
    """One endpoint with its queued and failed events, and why it is paused (admins)"""
    _admin()
    return _detail(found(WebhookEndpoint, webhook_id, "webhook"))


@bp.patch("/webhooks/<int:webhook_id>")
@operation(
    "updateWebhook",
    (200, webhook_schemas.WebhookDetail, "The endpoint as changed."),
    (401, 403, 404),
    json=webhook_schemas.WebhookChanges,
    scope=TokenScope.ADMIN,
)
def update_webhook(webhook_id: int) -> webhook_schemas.WebhookDetail:
    """Change an endpoint's URL or events, or pause or resume it (admins)

    Only the fields sent are written. A new `url` is checked as a new endpoint's is (400
    `invalid` naming `url` for plain HTTP or a private address). `"paused": false` resumes a
    paused endpoint: its queued events go, oldest first, each from a fresh 24-hour retry
    window.
    """
    _admin()
    endpoint = found(WebhookEndpoint, webhook_id, "webhook")
    body: webhook_schemas.WebhookChanges = request.context.json
    sent = body.model_fields_set
    if "url" in sent or "events" in sent:
        try:
            endpoints.change(
                endpoint, url=body.url, events=list(body.events) if body.events else None
            )
        except endpoints.InvalidSubscription as refusal:
            raise invalid(f"{refusal.field}: {refusal}", refusal.field) from refusal
    if body.paused is False and endpoint.paused_at is not None:
        endpoints.resume(endpoint)
    elif body.paused and endpoint.paused_at is None:
        endpoints.pause(endpoint, endpoints.PAUSED_BY_ADMIN)
    db.session.commit()
    return _detail(endpoint)


@bp.post("/webhooks/<int:webhook_id>/rotate-secret")
@operation(
    "rotateWebhookSecret",
    (200, webhook_schemas.RotatedSecret, "The endpoint with its new secret (shown only now)."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def rotate_webhook_secret(webhook_id: int) -> webhook_schemas.RotatedSecret:
    """Make a new signing secret for an endpoint (admins)

    The new secret is answered only this once. For 24 hours the old one keeps signing beside
    it (every request carries both signatures), so the receiver can switch without a gap.
    """
    _admin()
    endpoint = found(WebhookEndpoint, webhook_id, "webhook")
    secret = endpoints.rotate_secret(endpoint)
    db.session.commit()
    detail = _detail(endpoint)
    return webhook_schemas.RotatedSecret(
        **detail.model_dump(by_alias=False),
        secret=secret,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
    )


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


def _detail(endpoint: WebhookEndpoint) -> webhook_schemas.WebhookDetail:
    counts = endpoints.delivery_counts(endpoint)
    return webhook_schemas.WebhookDetail(
        **webhook_schemas.Webhook.model_validate(endpoint).model_dump(by_alias=False),
        queued=counts[WebhookState.PENDING],
        failed=counts[WebhookState.FAILED],
        delivered=counts[WebhookState.DELIVERED],
    )


def _admin() -> None:
    require_role(ADMINS, "webhooks are for admins")
