"""Logging in and out; each user's own Security page."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from helpdesk.web.auth import routes, security  # noqa: E402,F401  (views register on bp when imported)
