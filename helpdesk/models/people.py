"""Agents, managers and admins; their API tokens; customers and their identities."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    cast,
    false,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk.extensions import db
from helpdesk.models.base import (
    IdentityKind,
    Role,
    TokenScope,
    UtcDateTime,
    enum_column,
    utcnow,
)

if TYPE_CHECKING:
    from helpdesk.models.teams import Team


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.AGENT)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    available: Mapped[bool] = mapped_column(default=False)
    # The agent's own choice to stay away: otherwise logging in makes them available.
    stays_away: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Since when automatic assignment has passed the agent by (away, or not seen for two
    # minutes); None while assignable. Their unanswered tickets go back to their teams once.
    away_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The saved view the agent lands on; the queue's open work when none. A plain id, not a
    # reference: saved views refer to their owner, and SQLite cannot add the loop in place.
    # Deleting a view clears it; landing checks the view is still there and still theirs.
    home_view_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Part of every login session's id: a password change or deactivation moves it on, which
    # ends that user's sessions and remember-me cookies on every device.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Two-factor: the TOTP secret, encrypted like mailbox passwords (helpdesk/credentials.py);
    # None while two-factor is off. The last time step a code was accepted for, so a code
    # seen over someone's shoulder cannot be used a second time.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(300))
    totp_last_step: Mapped[int | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")
    teams: Mapped[list[Team]] = relationship(
        secondary="team_members", order_by="Team.name", viewonly=True
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated users
        return self.active

    @property
    def has_two_factor(self) -> bool:
        return self.totp_secret_encrypted is not None

    def get_id(self) -> str:
        """The session's user id: "<id>:<session version>" (checked on every request)."""
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):
    """A named bearer token; only its SHA-256 is stored (tokens are random, so no salt needed)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Tokens minted before scopes existed keep everything their user's role allows.
    scope: Mapped[TokenScope] = mapped_column(
        enum_column(TokenScope), default=TokenScope.ADMIN, server_default=TokenScope.ADMIN.value
    )
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    def expired(self, now: datetime) -> bool:
        """Whether the token's optional expiry has come."""
        return self.expires_at is not None and self.expires_at <= now

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class Customer(db.Model):
    """One person, however many addresses, numbers and chat visitors they reach us from."""

    __tablename__ = "customers"
    # The customer list, newest first, reads its pages along this index.
    __table_args__ = (Index("ix_customers_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # First contact: when their first message was received (a merge keeps the earlier one).
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text)
    # Up by one with every edit of name or notes, so a save from a stale page is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # A customer merged into another stays as a tombstone: old links lead to the other one.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # An admin erased their personal data (helpdesk/privacy): the row stays, nameless, so their
    # tickets keep counting in the reports.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    identities: Mapped[list[CustomerIdentity]] = relationship(
        back_populates="customer", order_by="CustomerIdentity.id"
    )
    merged_into: Mapped[Customer | None] = relationship(remote_side=[id])

    def identity(self, kind: IdentityKind) -> str | None:
        """The first identity of one kind, e.g. the address replies go to; proven ones first."""
        proven_first = sorted(self.identities, key=lambda i: not i.verified)
        return next((i.value for i in proven_first if i.kind == kind), None)

    @hybrid_property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return self.identities[0].value if self.identities else f"Customer {self.id}"

    @display_name.inplace.expression
    @classmethod
    def _display_name_expression(cls) -> ColumnElement[str]:
        # The same in SQL, for a reader that goes without loading the customer.
        first_identity = (
            select(CustomerIdentity.value)
            .where(CustomerIdentity.customer_id == cls.id)
            .order_by(CustomerIdentity.id)
            .limit(1)
            .scalar_subquery()
        )
        return func.coalesce(
            func.nullif(cls.name, ""),
            first_identity,
            literal("Customer ") + cast(cls.id, String),
        )


_PROVEN = text("verified_at IS NOT NULL")


class CustomerIdentity(db.Model):
    """An address, number, chat visitor or host-site user, proven to be this customer's or only
    claimed (typed into a form): a claim never decides who sent a message (DESIGN.md)."""

    __tablename__ = "customer_identities"
    __table_args__ = (
        # Leads with (kind, value): the index every sender lookup uses.
        UniqueConstraint("kind", "value", "customer_id"),
        # A proven identity belongs to one customer; anyone may claim it meanwhile.
        Index(
            "uq_customer_identities_proven_kind_value",
            "kind",
            "value",
            unique=True,
            sqlite_where=_PROVEN,
            postgresql_where=_PROVEN,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(enum_column(IdentityKind))
    value: Mapped[str] = mapped_column(String(254))  # normalised: lower-case address, E.164
    # When an inbound message from it, a host-site signature or an emailed link proved it;
    # None while it is only claimed.
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Phone numbers only: the customer texted STOP (or the carrier said so); nothing is sent.
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opt_out_reason: Mapped[str | None] = mapped_column(String(300))
    # Email addresses only: the customer followed an unsubscribe link; no outreach starts with
    # them (answers to their own requests still go out).
    outreach_unsubscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    customer: Mapped[Customer] = relationship(back_populates="identities")

    @property
    def verified(self) -> bool:
        return self.verified_at is not None
