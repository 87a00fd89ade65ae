"""Public file links: the files of our replies, for a chat visitor's widget and for Twilio."""

from flask import Blueprint, abort
from werkzeug.wrappers import Response

from helpdesk.tickets.file_links import linked_file
from helpdesk.web.downloads import attachment_response

bp = Blueprint("files", __name__)


@bp.get("/files/<token>")
def file(token: str) -> Response:
    """One file of a reply, by its signed link (no login)."""
    attachment = linked_file(token)
    if attachment is None:
        abort(404)
    return attachment_response(attachment)
