"""The audit trail of admin actions and API writes (ticket changes keep their own events)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.models.base import UtcDateTime, utcnow
from helpdesk.models.people import ApiToken, User


class AuditEvent(db.Model):
    """Who (and with which API token) did what to what, when, from what to what.

    Rows are only ever added: the application edits none (erasing a customer will redact their
    values here, when that comes).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the CLI or system
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(120))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship()
    token: Mapped[ApiToken | None] = relationship()
