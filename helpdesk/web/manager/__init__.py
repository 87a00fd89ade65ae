"""Manager pages: the service load per journey stage, and how often stages were corrected."""

from flask import Blueprint

bp = Blueprint("manager", __name__, url_prefix="/reports")

# Views register on bp when imported.
from helpdesk.web.manager import (  # noqa: E402,F401
    routes,
    stage_corrections,
    surveys,
)
