"""REST API under /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Views register on bp when imported.
from helpdesk.web.api import (  # noqa: E402,F401
    audit,
    conversation,
    customers,
    macros,
    new_tickets,
    privacy,
    routes,
    routing_rules,
    saved_views,
    service_targets,
    stage_corrections,
    stage_rules,
    tags,
    teams,
    ticket_trash,
    users,
    webhook_deliveries,
    webhooks,
)
