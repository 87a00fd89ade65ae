"""Macros: a reply text with placeholders and the ticket changes that go with it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.models.base import Priority, Stage, TicketStatus, UtcDateTime, enum_column, utcnow
from helpdesk.models.people import User


class Macro(db.Model):
    """Shared (no owner, kept by admins) or one agent's own; each action left empty changes
    nothing."""

    __tablename__ = "macros"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[TicketStatus | None] = mapped_column(enum_column(TicketStatus))
    priority: Mapped[Priority | None] = mapped_column(enum_column(Priority))
    stage: Mapped[Stage | None] = mapped_column(enum_column(Stage))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Tag names added to the ticket, as tags.tag_name stores them.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    use_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])

    @property
    def shared(self) -> bool:
        return self.owner_id is None
