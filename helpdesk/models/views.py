"""Saved views: a queue's filters and sort kept under a name, an agent's own or a team's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.models.base import UtcDateTime, utcnow
from helpdesk.models.people import User
from helpdesk.models.teams import Team


class SavedView(db.Model):
    """Personal (no team) or shared with one team; only its owner or an admin changes it."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    # The queue's query string (filters and sort, no cursor), read as the queue reads it.
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship()
