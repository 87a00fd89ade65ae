"""Tickets, their messages, attachments, delivery attempts and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models.base import (
    DeliveryState,
    Direction,
    Priority,
    Stage,
    StageSource,
    TicketStatus,
    UtcDateTime,
    enum_column,
    utcnow,
)
from helpdesk.models.channels import Endpoint
from helpdesk.models.people import Customer, User
from helpdesk.models.teams import Team


class Counter(db.Model):
    """Named counters handed out with an atomic UPDATE … RETURNING (ticket numbers)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Tag(db.Model):
    """A label agents put on tickets ("refund", "vip"); one row per name, shared by tickets."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


ticket_tags = Table(
    "ticket_tags",
    db.metadata,
    Column("ticket_id", ForeignKey("tickets.id"), primary_key=True),
    # The tag filter goes from the tag to its tickets.
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


# Everything the stage report reads of a ticket created in its range, range column first.
REPORT_COLUMNS = (
    "created_at",
    "stage",
    "channel",
    "assignee_id",
    "customer_id",
    "first_response_seconds",
    "resolution_seconds",
    "reopen_count",
    "first_response_due_at",
    "resolution_due_at",
    "first_response_breached_at",
    "resolution_breached_at",
    "team_id",
    # Merged tickets are left out of the reports: their messages count on the ticket they joined.
    "merged_into_id",
    # Reactive and proactive tickets are counted apart.
    "proactive",
    # Spam and deleted tickets are left out of the reports.
    "spam_at",
    "deleted_at",
)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_created_at_id", "created_at", "id"),
        Index("ix_tickets_customer_id_created_at", "customer_id", "created_at"),
        # The queue: one index per filter in the order of the newest-first list, so a filtered
        # page reads only the rows it shows (ties on created_at are rare; the id orders them).
        Index("ix_tickets_status_created_at", "status", "created_at"),
        Index("ix_tickets_stage_created_at", "stage", "created_at"),
        Index("ix_tickets_channel_created_at", "channel", "created_at"),
        Index("ix_tickets_priority_created_at", "priority", "created_at"),
        Index("ix_tickets_assignee_id_created_at", "assignee_id", "created_at"),
        Index("ix_tickets_team_id_created_at", "team_id", "created_at"),
        # The longest-waiting list, across statuses and within one.
        Index("ix_tickets_last_customer_message_at", "last_customer_message_at"),
        Index("ix_tickets_status_last_customer_message_at", "status", "last_customer_message_at"),
        # Capped counts per status under the other filters, read from the index alone.
        Index("ix_tickets_status_stage_channel", "status", "stage", "channel"),
        Index("ix_tickets_status_priority_assignee_id", "status", "priority", "assignee_id"),
        # The SLA job and the "due soonest" queue read tickets by their next deadline.
        Index("ix_tickets_sla_due_at", "sla_due_at"),
        # The stage report reads a range of days from these two alone, never the table.
        Index("ix_tickets_report", *REPORT_COLUMNS),
        Index(
            "ix_tickets_backlog",
            "status",
            "created_at",
            "stage",
            "channel",
            "assignee_id",
            "team_id",
            # Spam and deleted tickets are no backlog.
            "spam_at",
            "deleted_at",
            # The source filter, so the backlog is still read from the index alone.
            "proactive",
        ),
        # Per stage rule: how many tickets it decided and how many were corrected.
        Index("ix_tickets_intake_rule", "intake_rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[TicketStatus] = mapped_column(
        enum_column(TicketStatus), default=TicketStatus.NEW
    )
    priority: Mapped[Priority] = mapped_column(enum_column(Priority), default=Priority.NORMAL)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(120), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    intake_stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    intake_rule: Mapped[str | None] = mapped_column(String(120))
    stage_source: Mapped[StageSource] = mapped_column(enum_column(StageSource))
    stage_reason: Mapped[str] = mapped_column(String(300))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    # Routing (helpdesk/tickets/routing.py) sets team and priority; it re-runs on a stage
    # correction for whichever of the two no person has set by hand since.
    routing_rule: Mapped[str | None] = mapped_column(String(120))
    routing_reason: Mapped[str | None] = mapped_column(String(300))
    team_set_by_hand: Mapped[bool] = mapped_column(default=False, server_default=false())
    priority_set_by_hand: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Started by us (an agent, a campaign or the API reaching out), not by the customer: reports
    # count proactive tickets apart from reactive ones.
    proactive: Mapped[bool] = mapped_column(default=False, server_default=false())
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    previous_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_customer_message_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    solved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Calendar seconds from creation, kept by the ticket service for the stage reports: to the
    # first public agent reply, and to the latest solve (cleared while reopened).
    first_response_seconds: Mapped[int | None]
    resolution_seconds: Mapped[int | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    # Stage-aware SLA (helpdesk/tickets/sla.py): the targets, the next deadline still to be met
    # or recorded as breached, and when each target was recorded as breached.
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sla_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Up by one with every committed change to the ticket (helpdesk/tickets/versions.py).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Email: the other people on the conversation (from the To and Cc of the customer's mail),
    # copied on replies unless an agent takes them off.
    cc: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Merged (helpdesk/tickets/merging.py): the ticket this one's conversation now lives on; it
    # stays closed, and whatever would have threaded to it threads there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Split: the ticket whose later messages became this one.
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Spam and the trash (helpdesk/tickets/trash.py): left out of queues, searches and reports;
    # a deleted ticket is seen by admins alone and purged for good after the retention days.
    spam_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    spam_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    endpoint: Mapped[Endpoint] = relationship()
    customer: Mapped[Customer] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    spam_by: Mapped[User | None] = relationship(foreign_keys=[spam_by_id])
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id])
    team: Mapped[Team | None] = relationship()
    previous_ticket: Mapped[Ticket | None] = relationship(
        remote_side=[id], foreign_keys=[previous_ticket_id]
    )
    merged_into: Mapped[Ticket | None] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )
    split_from: Mapped[Ticket | None] = relationship(remote_side=[id], foreign_keys=[split_from_id])
    tags: Mapped[list[Tag]] = relationship(secondary=ticket_tags, order_by=Tag.name)
    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="(Message.created_at, Message.id)"
    )
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket",
        order_by="(TicketEvent.created_at, TicketEvent.id)",
        foreign_keys="TicketEvent.ticket_id",
    )

    @property
    def is_spam(self) -> bool:
        return self.spam_at is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        # Replaying input changes nothing: one row per provider message and direction.
        UniqueConstraint("direction", "channel", "endpoint_id", "external_id"),
        Index("ix_messages_outbox", "delivery_state", "next_attempt_at"),
        Index("ix_messages_ticket_id_created_at", "ticket_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    direction: Mapped[Direction] = mapped_column(enum_column(Direction))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sender: Mapped[str | None] = mapped_column(String(254))
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    # Email: quoted history and signature, folded away under the new text (one click away).
    folded_text: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(300), index=True)
    # Inbound email: the hash copies of one mail share (channels/email/parse.py dedupe_key), so a
    # copy from another mailbox or fetch is stored once even when racing the first.
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    raw_ref: Mapped[str | None] = mapped_column(String(100))
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    thread_reason: Mapped[str | None] = mapped_column(String(300))
    # Inbound email threaded here by Message-ID from someone not on the ticket (not its
    # customer, a Cc or an agent): kept, shown as such, never answered in the customer's place.
    from_outsider: Mapped[bool] = mapped_column(default=False, server_default=false())
    cc: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")  # email out
    delivery_state: Mapped[DeliveryState | None] = mapped_column(enum_column(DeliveryState))
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_text: Mapped[str | None] = mapped_column(Text)
    attempt_count: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    endpoint: Mapped[Endpoint] = relationship()
    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message")
    attempts: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="message", order_by="DeliveryAttempt.id"
    )

    @property
    def is_public(self) -> bool:
        return self.direction != Direction.NOTE


class Attachment(db.Model):
    """A file of a message; the bytes live in content-addressed storage under ``storage_key``.

    A file the provider hosts (an MMS picture) is recorded with its ``source_url`` on intake
    and has no ``storage_key`` until the worker has fetched it.
    """

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_fetch", "storage_key", "next_fetch_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int | None]
    storage_key: Mapped[str | None] = mapped_column(String(100))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    fetch_attempts: Mapped[int] = mapped_column(default=0)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    fetch_error: Mapped[str | None] = mapped_column(Text)
    # Email: inline parts the HTML shows through ``cid:`` references.
    content_id: Mapped[str | None] = mapped_column(String(255))
    inline: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def stored(self) -> bool:
        return self.storage_key is not None

    message: Mapped[Message] = relationship(back_populates="attachments")


class DeliveryAttempt(db.Model):
    """One try at handing a message to its provider; ``finished_at`` stays empty if we died."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    worker: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))  # sent | retry | failed
    provider_id: Mapped[str | None] = mapped_column(String(300))
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_text: Mapped[str | None] = mapped_column(Text)

    message: Mapped[Message] = relationship(back_populates="attempts")


class TicketEvent(db.Model):
    """The audit trail: who changed what on a ticket, from what to what, and when."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_id_created_at", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    from_value: Mapped[str | None] = mapped_column(String(300))
    to_value: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # A copy of an event of a ticket merged into this one: the ticket it happened on. Copies
    # tell the story; they never count as this ticket's own changes.
    merged_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    ticket: Mapped[Ticket] = relationship(back_populates="events", foreign_keys=[ticket_id])
    actor: Mapped[User | None] = relationship()
    merged_from: Mapped[Ticket | None] = relationship(foreign_keys=[merged_from_id])
