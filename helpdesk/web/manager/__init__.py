"""Manager pages: the service load per journey stage."""

from flask import Blueprint

bp = Blueprint("manager", __name__, url_prefix="/reports")

from helpdesk.web.manager import (  # noqa: E402,F401  (views register on bp when imported)
    routes,
    surveys,
)
