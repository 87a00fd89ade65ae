"""Failed logins, counted where every web process sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
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


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app once; only its SHA-256 is kept
    (the codes are random, so no salt is needed)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SecurityPolicy(db.Model):
    """The install's one row of login settings an admin chooses."""

    __tablename__ = "security_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Admins without two-factor must set it up before they can use anything else.
    require_admin_two_factor: Mapped[bool] = mapped_column(default=False)
