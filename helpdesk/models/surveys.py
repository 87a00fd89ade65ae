"""The satisfaction (CSAT) question sent when a ticket is solved, and the customer's answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models.base import UtcDateTime, enum_column, utcnow
from helpdesk.models.tickets import Message, Ticket


class Survey(db.Model):
    """One per ticket: asked on the ticket's channel at its first solve; score 1-5 once answered."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        # Reports read answers by when they came in.
        Index("ix_surveys_answered_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    ticket: Mapped[Ticket] = relationship()
    question: Mapped[Message | None] = relationship()
