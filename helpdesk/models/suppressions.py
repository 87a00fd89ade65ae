"""Refusals that outlive an erased customer: a number that texted STOP, an address that
unsubscribed from outreach, kept as a keyed hash rather than the value itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.extensions import db
from helpdesk.models.base import IdentityKind, UtcDateTime, enum_column, utcnow


class Suppression(db.Model):
    """One erased identity's refusal, found again by the hash of its normalised value."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("kind", "value_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[IdentityKind] = mapped_column(enum_column(IdentityKind))
    # HMAC-SHA256 of the value under the install's secret key: it can be matched, not read.
    value_hash: Mapped[str] = mapped_column(String(64))
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outreach_unsubscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
