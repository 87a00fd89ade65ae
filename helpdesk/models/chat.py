"""Web chat: visitors' conversations and the event log that live views replay by id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.models.base import UtcDateTime, utcnow
from helpdesk.models.channels import Endpoint


class ChatConversation(db.Model):
    """One visitor's conversation on one site; its tickets share ``Ticket.conversation_id``."""

    __tablename__ = "chat_conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"), index=True)
    visitor_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    host_user_id: Mapped[str | None] = mapped_column(String(254))
    chosen_stage: Mapped[str | None] = mapped_column(String(20))
    # Refreshed while the visitor's widget holds its event stream: "is the visitor still here?"
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    endpoint: Mapped[Endpoint] = relationship()


class ChatEvent(db.Model):
    """Something a live view shows: a message, typing, a new chat for the queue.

    Ids come from a counter row whose lock is held until commit, so they become visible in id
    order and a reader that resumes "after id N" can never skip a late-committing event. On
    PostgreSQL the row is numbered inside COMMIT (migration 0009), so that lock is brief.
    """

    __tablename__ = "chat_events"
    __table_args__ = (
        Index("ix_chat_events_conversation_id_id", "conversation_id", "id"),
        Index("ix_chat_events_ticket_id_id", "ticket_id", "id"),
        Index("ix_chat_events_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))  # message, typing, ticket, presence, assigned
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
