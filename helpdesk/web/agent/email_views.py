"""An email as it was sent: its HTML with inline images in place, and the original to download.

The HTML was sanitised at intake (no scripts, no forms, remote images blocked); it is served as
a document of its own for a sandboxed frame on the ticket page, under a policy that lets it load
nothing but our own attachment URLs (and, when the agent asks, remote images).
"""

from __future__ import annotations

import re

from flask import abort, render_template, request, url_for
from werkzeug.wrappers import Response

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Message
from helpdesk.tickets.mail import html_with_remote_images, original_email
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp
from helpdesk.web.downloads import content_disposition

_CID = re.compile(r'src="cid:([^"]+)"', re.IGNORECASE)
_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:{remote}; "
    "base-uri 'none'; form-action 'none'; sandbox allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox"
)


@bp.get("/messages/<int:message_id>/html")
@staff_required
def message_html(message_id: int) -> Response:
    """The email's HTML as a page of its own (remote images only with ``?remote=1``)."""
    message = _email_or_404(message_id)
    remote = request.args.get("remote") == "1"
    html = html_with_remote_images(message) if remote else message.html
    if html is None:
        abort(404)
    page = render_template("agent/email_html.html", html=_with_inline_images(message, html))
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _POLICY.format(
        remote=" https: http:" if remote else ""
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/messages/<int:message_id>/original")
@staff_required
def message_original(message_id: int) -> Response:
    """The email exactly as it arrived, as an .eml file."""
    message = _email_or_404(message_id)
    try:
        raw = original_email(message)
    except KeyError:
        abort(404)
    response = Response(raw, mimetype="message/rfc822")
    response.headers["Content-Disposition"] = content_disposition(
        f"ticket-{message.ticket.number}-message-{message.id}.eml"
    )
    return response


def _email_or_404(message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None or message.channel != Channel.EMAIL:
        abort(404)
    return message


def _with_inline_images(message: Message, html: str) -> str:
    """``cid:`` references pointed at the message's own attachments."""
    by_content_id = {
        attachment.content_id.strip("<>"): attachment
        for attachment in message.attachments
        if attachment.content_id
    }

    def attachment_url(match: re.Match[str]) -> str:
        found = by_content_id.get(match.group(1).strip("<>"))
        if found is None:
            return 'src=""'
        return f'src="{url_for("agent.attachment", attachment_id=found.id)}"'

    return _CID.sub(attachment_url, html)
