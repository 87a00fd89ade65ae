"""Admin pages: users, API tokens and the journey-stage rules."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from helpdesk.web.admin import routes, stages  # noqa: E402,F401  (views register on bp)
