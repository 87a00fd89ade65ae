"""The public satisfaction survey page a customer reaches from the link in an email."""

from flask import Blueprint

bp = Blueprint("survey", __name__, url_prefix="/survey")

from helpdesk.web.survey import routes  # noqa: E402,F401  (views register on bp when imported)
