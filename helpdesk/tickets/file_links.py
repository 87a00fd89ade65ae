"""Links to the files of our replies for people without a login: a chat visitor's widget shows
them, and Twilio fetches an MMS picture from one.

A link names one attachment of an outbound message, signed with the secret key and good for a
week: it cannot be guessed, changed to reach another file, or reach what a customer sent us.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from helpdesk.extensions import db
from helpdesk.models import Attachment, Direction

LINK_LIFETIME = timedelta(days=7)
# Separates file links from any other token signed with the same secret key.
_TOKEN_SALT = "helpdesk.file-link"


def file_url(attachment: Attachment) -> str:
    """The public link to one file of a reply."""
    base = current_app.config["HELPDESK_PUBLIC_URL"].rstrip("/")
    return f"{base}/files/{_serializer().dumps(attachment.id)}"


def linked_file(token: str) -> Attachment | None:
    """The stored reply file a link names; None when forged, expired, or not ours to give."""
    try:
        attachment_id = _serializer().loads(token, max_age=LINK_LIFETIME.total_seconds())
    except BadSignature:
        return None
    attachment = (
        db.session.get(Attachment, attachment_id) if isinstance(attachment_id, int) else None
    )
    if attachment is None or attachment.storage_key is None:
        return None
    return attachment if attachment.message.direction == Direction.OUTBOUND else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)
