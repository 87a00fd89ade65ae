"""Routing rules: which team a new request goes to, and with what priority."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models.base import Priority, Stage, UtcDateTime, enum_column, utcnow
from helpdesk.models.teams import Team


class RoutingRule(db.Model):
    """One ordered routing rule: every condition set must hold; the first active match routes."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Tickets remember the rule that routed them by its name, so it never changes.
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(index=True)
    active: Mapped[bool] = mapped_column(default=True)
    channel: Mapped[Channel | None] = mapped_column(enum_column(Channel))
    endpoint: Mapped[str | None] = mapped_column(String(254))
    intake_stage: Mapped[Stage | None] = mapped_column(enum_column(Stage))
    stage: Mapped[Stage | None] = mapped_column(enum_column(Stage))
    tag: Mapped[str | None] = mapped_column(String(50))
    priority: Mapped[Priority | None] = mapped_column(enum_column(Priority))
    # Words or phrases separated by commas; any one of them in the subject will do.
    subject_words: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    gives_priority: Mapped[Priority | None] = mapped_column(enum_column(Priority))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    team: Mapped[Team | None] = relationship()

    # In the order a reason names them: "stage purchase and channel sms".
    CONDITIONS = (
        "intake_stage",
        "stage",
        "channel",
        "endpoint",
        "tag",
        "priority",
        "subject_words",
    )

    def conditions(self) -> dict[str, str]:
        """The conditions this rule sets, by name."""
        return {name: getattr(self, name) for name in self.CONDITIONS if getattr(self, name)}
