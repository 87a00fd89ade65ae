"""REST API under /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from helpdesk.web.api import (  # noqa: E402,F401  (views register on bp when imported)
    new_tickets,
    routes,
)
