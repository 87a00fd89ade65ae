"""Logging in and out."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from helpdesk.web.auth import routes  # noqa: E402,F401  (views register on bp when imported)
