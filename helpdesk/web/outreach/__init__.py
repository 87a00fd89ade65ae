"""Managers' outreach campaigns: one message to a segment of customers, previewed first."""

from flask import Blueprint

bp = Blueprint("outreach", __name__, url_prefix="/outreach")

from helpdesk.web.outreach import routes  # noqa: E402,F401  (views register on bp when imported)
