"""Admin pages: users, API tokens, journey-stage and routing rules, service targets, channels
and teams."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from helpdesk.web.admin import (  # noqa: E402,F401  (views register)
    audit,
    channels,
    macros,
    privacy,
    routes,
    routing,
    stages,
    surveys,
    teams,
    trash,
    webhooks,
)
