"""Mailboxes (IMAP intake and SMTP sending of one email endpoint) and every email they took in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.models.base import UtcDateTime, enum_column, utcnow
from helpdesk.models.channels import Endpoint
from helpdesk.models.tickets import Message


class Security(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class IntakeOutcome(StrEnum):
    STORED = "stored"  # became a message on a ticket
    BOUNCE = "bounce"  # a delivery report about one of our messages
    IGNORED = "ignored"  # kept (raw) but deliberately not a ticket: loops, stray auto-replies
    QUARANTINED = "quarantined"  # could not be taken in; an admin looks at it


class Mailbox(db.Model):
    """The IMAP and SMTP settings of one email endpoint, its checkpoint and its lease."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    imap_host: Mapped[str] = mapped_column(String(255))
    imap_port: Mapped[int]
    imap_security: Mapped[Security] = mapped_column(enum_column(Security))
    imap_user: Mapped[str] = mapped_column(String(254))
    # Fernet tokens (helpdesk/credentials.py), never the passwords themselves.
    imap_password_encrypted: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    processed_folder: Mapped[str | None] = mapped_column(String(255))
    smtp_host: Mapped[str | None] = mapped_column(String(255))
    smtp_port: Mapped[int | None]
    smtp_security: Mapped[Security] = mapped_column(enum_column(Security), default=Security.NONE)
    smtp_user: Mapped[str | None] = mapped_column(String(254))
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text)
    acknowledge: Mapped[bool] = mapped_column(default=False)
    # The checkpoint: every UID up to last_uid of this UIDVALIDITY is committed.
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    fetched_count: Mapped[int] = mapped_column(default=0)
    quarantined_count: Mapped[int] = mapped_column(default=0)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    endpoint: Mapped[Endpoint] = relationship()

    @property
    def address(self) -> str:
        return self.endpoint.address


class InboundEmail(db.Model):
    """One email as fetched: its raw bytes, where it came from, and what became of it."""

    __tablename__ = "inbound_emails"
    # Re-fetching (a crash, a UIDVALIDITY change) finds the key and stores nothing twice.
    __table_args__ = (UniqueConstraint("mailbox_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"), index=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    message_id_header: Mapped[str | None] = mapped_column(String(300))
    raw_ref: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    outcome: Mapped[IntakeOutcome] = mapped_column(enum_column(IntakeOutcome), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    mailbox: Mapped[Mailbox] = relationship()
    message: Mapped[Message | None] = relationship()
