"""The public page a verification link opens: no login, the signed link is the key."""

from flask import Blueprint

bp = Blueprint("verify", __name__, url_prefix="/verify")

from helpdesk.web.verify import routes  # noqa: E402,F401  (views register on bp when imported)
