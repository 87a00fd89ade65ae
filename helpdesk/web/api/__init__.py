"""REST API under /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Views register on bp when imported.
from helpdesk.web.api import (  # noqa: E402,F401
    audit,
    customers,
    new_tickets,
    privacy,
    routes,
    stage_corrections,
    webhook_deliveries,
    webhooks,
)
