"""Chat visitors: their conversations and the signed tokens that keep them across pages."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import joinedload

from channels.webchat import Visitor
from helpdesk.extensions import db
from helpdesk.models import ChatConversation, Endpoint, utcnow

_TOKEN_SALT = "helpdesk.chat.visitor"


def start_conversation(
    site: Endpoint,
    *,
    name: str | None,
    email: str | None,
    chosen_stage: str | None,
    host_user_id: str | None,
) -> ChatConversation:
    """A new conversation for a visitor who filled in the pre-chat form. Flushes."""
    conversation = ChatConversation(
        id=secrets.token_urlsafe(16),
        endpoint=site,
        visitor_id=f"visitor-{secrets.token_urlsafe(12)}",
        name=name,
        email=email,
        chosen_stage=chosen_stage,
        host_user_id=host_user_id,
        last_seen_at=utcnow(),
    )
    db.session.add(conversation)
    db.session.flush()
    return conversation


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_TOKEN_SALT)


def visitor_token(conversation: ChatConversation, secret_key: str) -> str:
    """What the widget keeps in the browser's storage to come back to this conversation."""
    return _serializer(secret_key).dumps({"c": conversation.id})


def conversation_for(token: object, secret_key: str) -> ChatConversation | None:
    """The conversation a visitor token stands for; None for a forged or unknown token."""
    conversation_id = conversation_id_in(token, secret_key)
    if conversation_id is None:
        return None
    # Every visitor request checks the site's origins: load the site in the same round trip.
    return db.session.get(
        ChatConversation, conversation_id, options=[joinedload(ChatConversation.endpoint)]
    )


def conversation_id_in(token: object, secret_key: str) -> str | None:
    """The id of the conversation a visitor token names; None for a forged token."""
    # The token comes from a JSON body: a number or a list there is no token either.
    if not isinstance(token, str) or not token:
        return None
    try:
        data = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    return data["c"]


def visitor_of(conversation: ChatConversation) -> Visitor:
    """The channel-level view of a conversation's visitor."""
    return Visitor(
        site=conversation.endpoint.address,
        visitor_id=conversation.visitor_id,
        conversation_id=conversation.id,
        name=conversation.name,
        email=conversation.email,
        chosen_stage=conversation.chosen_stage,
        host_user_id=conversation.host_user_id,
    )
