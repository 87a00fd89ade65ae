"""The public page an outreach mail's unsubscribe link opens: no login, the signed link is the
key."""

from flask import Blueprint

bp = Blueprint("unsubscribe", __name__, url_prefix="/unsubscribe")

from helpdesk.web.unsubscribe import routes  # noqa: E402,F401  (views register on bp when imported)
