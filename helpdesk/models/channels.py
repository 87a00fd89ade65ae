"""Where requests arrive (endpoints) and the rules that tag them with a journey stage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models.base import Stage, UtcDateTime, enum_column, utcnow


class Endpoint(db.Model):
    """A mailbox, an SMS number or messaging service, or a chat site."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    address: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(120))
    default_stage: Mapped[Stage | None] = mapped_column(enum_column(Stage))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def label(self) -> str:
        return self.name or self.address


class StageRule(db.Model):
    """One ordered rule of the stage engine: every condition set must match; first rule wins."""

    __tablename__ = "stage_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    enabled: Mapped[bool] = mapped_column(default=True)
    channel: Mapped[Channel | None] = mapped_column(enum_column(Channel))
    endpoint: Mapped[str | None] = mapped_column(String(254))
    recipient: Mapped[str | None] = mapped_column(String(254))
    first_word: Mapped[str | None] = mapped_column(String(60))
    url_pattern: Mapped[str | None] = mapped_column(String(500))
    utm_source: Mapped[str | None] = mapped_column(String(120))
    utm_medium: Mapped[str | None] = mapped_column(String(120))
    utm_campaign: Mapped[str | None] = mapped_column(String(120))
    keyword: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    CONDITIONS = (
        "channel",
        "endpoint",
        "recipient",
        "first_word",
        "url_pattern",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "keyword",
    )

    def conditions(self) -> dict[str, str]:
        """The conditions this rule sets, by name."""
        return {name: getattr(self, name) for name in self.CONDITIONS if getattr(self, name)}


class InboxItem(db.Model):
    """A verified provider webhook, kept as received until intake has made it a message.

    The webhook only verifies and stores (one insert, unique per provider id, so a retried
    webhook is stored once); the worker hands each item to the ticket service. A payload the
    service refuses stays here with the reason, so nothing a customer sent is lost.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbox_items_due", "processed_at", "next_attempt_at"),
        Index("ix_inbox_items_sender", "sender", "processed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    external_id: Mapped[str] = mapped_column(String(300))
    # As the provider gave it (SMS: From): each sender's items are taken in their order.
    sender: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    error: Mapped[str | None] = mapped_column(Text)


class StageSla(db.Model):
    """The service targets for requests of one journey stage, in business minutes."""

    __tablename__ = "stage_slas"

    stage: Mapped[Stage] = mapped_column(enum_column(Stage), primary_key=True)
    first_response_minutes: Mapped[int | None]
    resolution_minutes: Mapped[int | None]
