"""Outreach campaigns: one message a manager sent to a segment of customers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models.base import Stage, UtcDateTime, enum_column, utcnow
from helpdesk.models.channels import Endpoint
from helpdesk.models.people import User


class Campaign(db.Model):
    """Who sent what to which segment, when, and how many it reached or left out (and why)."""

    __tablename__ = "outreach_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"))
    subject: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    # The segment as chosen: {"stage", "from", "to"} or {"tag"}.
    segment: Mapped[dict] = mapped_column(JSON)
    recipients: Mapped[int] = mapped_column(default=0)
    opted_out: Mapped[int] = mapped_column(default=0)
    unsubscribed: Mapped[int] = mapped_column(default=0)
    no_identity: Mapped[int] = mapped_column(default=0)

    created_by: Mapped[User] = relationship()
    endpoint: Mapped[Endpoint] = relationship()
