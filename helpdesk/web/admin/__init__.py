"""Admin pages: users, API tokens, journey-stage rules, service targets, channels and teams."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from helpdesk.web.admin import channels, macros, routes, stages, teams  # noqa: E402,F401  (views register)
