"""Failed logins, counted where every web process sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.extensions import db
from helpdesk.models.base import UtcDateTime, utcnow


class LoginThrottle(db.Model):
    """The failures of one account tried (``account:<email>``) or one client address
    (``address:<ip>``) and until when its next attempt must wait.

    Kept in the database rather than process memory so that every worker process (and a
    restart) agrees on the count.
    """

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
