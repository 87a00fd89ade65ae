"""Admin pages: users and API tokens."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from helpdesk.web.admin import routes  # noqa: E402,F401  (views register on bp when imported)
