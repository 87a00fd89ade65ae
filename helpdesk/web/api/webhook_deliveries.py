"""API views of a webhook endpoint's delivery log: read it, and send an event again (admins)."""

from __future__ import annotations

from flask import request

from helpdesk.extensions import db
from helpdesk.models import TokenScope, WebhookDelivery, WebhookEndpoint
from helpdesk.tickets import queries
from helpdesk.web.api import bp
from helpdesk.web.api.auth import ADMINS, require_role
from helpdesk.web.api.errors import ApiError, found
from helpdesk.web.api.openapi import operation
from helpdesk.web.api.query_schemas import PageQuery
from helpdesk.web.api.webhook_delivery_schemas import Delivery, DeliveryPage
from helpdesk.webhooks import endpoints


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@operation(
    "listWebhookDeliveries",
    (200, DeliveryPage, "One page of the endpoint's deliveries."),
    (401, 403, 404),
    query=PageQuery,
    scope=TokenScope.ADMIN,
)
def list_webhook_deliveries(webhook_id: int) -> DeliveryPage:
    """The endpoint's delivery log, newest first, paginated by cursor (admins)

    Each event with its type, `webhook-id`, state and every attempt at sending it: the HTTP
    status and the start of the answer, or why nothing came back.
    """
    require_role(ADMINS, "webhooks are for admins")
    endpoint = found(WebhookEndpoint, webhook_id, "webhook")
    query: PageQuery = request.context.query
    page = queries.webhook_delivery_page(endpoint.id, query.limit, query.cursor)
    attempts = endpoints.attempts_of(page.items)
    items = [Delivery.of(delivery, attempts[delivery.id]) for delivery in page.items]
    return DeliveryPage(items=items, next_cursor=page.next_cursor)


@bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@operation(
    "redeliverWebhookEvent",
    (200, Delivery, "The delivery, pending again."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def redeliver_webhook_event(webhook_id: int, delivery_id: int) -> Delivery:
    """Send an event again, with the same `webhook-id` (admins)

    Receivers de-duplicate on the id. The event goes at the worker's next turn, with a fresh
    24-hour retry window.
    """
    require_role(ADMINS, "webhooks are for admins")
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != webhook_id:
        raise ApiError(404, "not_found", f"no delivery {delivery_id} of webhook {webhook_id}")
    endpoints.redeliver(delivery)
    db.session.commit()
    return Delivery.of(delivery, endpoints.attempts_of([delivery])[delivery.id])
