"""The chat widget's script and the cross-origin endpoints it talks to."""

from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="/chat")

from helpdesk.web.chat import routes  # noqa: E402,F401
