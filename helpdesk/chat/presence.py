"""Who is there: agents online for chat, and whether a visitor is still on the site."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update

from helpdesk.extensions import db
from helpdesk.models import ChatConversation, User, utcnow

# DESIGN.md: "agent online" means available and seen within the last two minutes.
AGENT_ONLINE_WINDOW = timedelta(minutes=2)
# Refreshing "last seen" once a minute keeps an agent online without a write per request.
SEEN_REFRESH = timedelta(minutes=1)
# A visitor's widget refreshes its stamp every heartbeat (15 s) while the page is open; after
# a minute of silence the visitor has left and replies go by email.
VISITOR_PRESENT_WINDOW = timedelta(minutes=1)
VISITOR_REFRESH = timedelta(seconds=20)


def online(now: datetime | None = None) -> ColumnElement[bool]:
    """The WHERE clause for active agents marked available and seen recently: online for chat
    and assignable for automatic assignment."""
    since = (now or utcnow()) - AGENT_ONLINE_WINDOW
    # "Never seen" spelled out, so that the negation holds for them too (NULL is not false).
    seen = and_(User.last_seen_at.is_not(None), User.last_seen_at >= since)
    return and_(User.active.is_(True), User.available.is_(True), seen)


def is_online(user: User, now: datetime | None = None) -> bool:
    """``online`` for one agent already loaded."""
    since = (now or utcnow()) - AGENT_ONLINE_WINDOW
    return bool(user.active and user.available and user.last_seen_at and user.last_seen_at >= since)


def agents_online(now: datetime | None = None) -> bool:
    """True when at least one active agent is available and was seen recently."""
    return db.session.scalar(select(User.id).where(online(now)).limit(1)) is not None


def note_agent_seen(user: User, now: datetime | None = None) -> bool:
    """Refresh an agent's "last seen" when it is getting old; True when it changed."""
    now = now or utcnow()
    if user.last_seen_at is None or now - user.last_seen_at > SEEN_REFRESH:
        user.last_seen_at = now
        return True
    return False


def note_visitor_seen(conversation: ChatConversation, now: datetime | None = None) -> bool:
    """Refresh a visitor's "last seen" when it is getting old; True when it changed."""
    now = now or utcnow()
    if visitor_seen_long_ago(conversation.last_seen_at, now):
        conversation.last_seen_at = now
        return True
    return False


def note_visitor_seen_by_id(
    conversation_id: str, last_seen_at: datetime | None, now: datetime | None = None
) -> bool:
    """``note_visitor_seen`` for a conversation read without the ORM (``last_seen_at`` as
    read): one UPDATE when the stamp is getting old."""
    now = now or utcnow()
    if not visitor_seen_long_ago(last_seen_at, now):
        return False
    table = ChatConversation.__table__
    db.session.connection().execute(
        update(table).where(table.c.id == conversation_id).values(last_seen_at=now)
    )
    return True


def visitor_seen_long_ago(last_seen_at: datetime | None, now: datetime) -> bool:
    """True when a visitor's "last seen" is old enough to be written again."""
    return last_seen_at is None or now - last_seen_at > VISITOR_REFRESH


def visitor_present(conversation: ChatConversation, now: datetime | None = None) -> bool:
    """True while the visitor's widget is connected (or was, a moment ago)."""
    return visitor_here(conversation.last_seen_at, now)


def visitor_here(last_seen_at: datetime | None, now: datetime | None = None) -> bool:
    """``visitor_present`` for a conversation's "last seen" read without the conversation."""
    if last_seen_at is None:
        return False
    return (now or utcnow()) - last_seen_at <= VISITOR_PRESENT_WINDOW
