"""Web chat: what the widget posts, turned into an ``InboundMessage``; host-user signatures.

The widget talks JSON to the helpdesk; this module validates those fields (sizes, shapes)
and knows nothing of Flask or the database.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from channels.base import Channel, InboundMessage, Utm

MAX_TEXT = 4000
MAX_NAME = 120
MAX_EMAIL = 254
MAX_URL = 2000
MAX_CLIENT_ID = 64
MAX_UTM = 120


class ChatInputError(ValueError):
    """The widget sent something we refuse; the message says what, for the visitor."""


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is chatting, as their signed visitor token and conversation say."""

    site: str  # the site key (the chat endpoint's address)
    visitor_id: str
    conversation_id: str
    name: str | None = None
    email: str | None = None
    chosen_stage: str | None = None
    host_user_id: str | None = None


def host_user_hash(secret: str, user_id: str) -> str:
    """What a host site puts in ``data-user-hash``: hex HMAC-SHA256(site secret, user id)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def host_user_verified(secret: str, user_id: str, given: str) -> bool:
    """True when ``given`` is the site's signature of ``user_id`` (constant-time compare)."""
    return hmac.compare_digest(host_user_hash(secret, user_id), (given or "").strip().lower())


def clean_text(value: object, limit: int, what: str, *, required: bool = False) -> str | None:
    """A stripped string of at most ``limit`` characters; None when empty and optional."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ChatInputError(f"{what} must be text")
    value = value.strip()
    if not value:
        if required:
            raise ChatInputError(f"{what} must not be empty")
        return None
    if len(value) > limit:
        raise ChatInputError(f"{what} is too long (at most {limit} characters)")
    return value


def clean_email(value: object) -> str | None:
    """An address as typed, checked only for shape: it is unverified either way."""
    email = clean_text(value, MAX_EMAIL, "email")
    if email is None:
        return None
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email):
        raise ChatInputError("that does not look like an email address")
    return email


def utm_of(page_url: str | None, given: object = None) -> Utm:
    """UTM tags the widget read from the page, else those in the page URL itself."""
    tags = given if isinstance(given, dict) else {}
    query = parse_qs(urlsplit(page_url or "").query)

    def tag(name: str) -> str | None:
        value = tags.get(name) or (query.get(f"utm_{name}") or [None])[0]
        return clean_text(value, MAX_UTM, f"utm_{name}") if isinstance(value, str) else None

    return Utm(source=tag("source"), medium=tag("medium"), campaign=tag("campaign"))


def parse_message(visitor: Visitor, payload: dict) -> InboundMessage:
    """One visitor message; its client id, scoped to the conversation, makes resending safe."""
    client_id = clean_text(payload.get("client_id"), MAX_CLIENT_ID, "client_id", required=True)
    text = clean_text(payload.get("text"), MAX_TEXT, "message", required=True)
    page_url = clean_text(payload.get("page_url"), MAX_URL, "page_url")
    return InboundMessage(
        channel=Channel.CHAT,
        endpoint=visitor.site,
        external_id=f"{visitor.conversation_id}:{client_id}",
        sender=visitor.visitor_id,
        sender_name=visitor.name,
        text=text,
        conversation_id=visitor.conversation_id,
        page_url=page_url,
        utm=utm_of(page_url, payload.get("utm")),
        chosen_stage=visitor.chosen_stage,
        email=visitor.email,
        host_user_id=visitor.host_user_id,
    )
