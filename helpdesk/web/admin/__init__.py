"""Admin pages: users, API tokens, journey-stage rules, service targets and channels."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from helpdesk.web.admin import channels, macros, routes, stages  # noqa: E402,F401  (views register)
