"""The survey (CSAT or NPS) asked when a ticket is solved, its answer and its follow-up, and
the admin's choices: which question each journey stage asks, how detractors are followed up."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models.base import Stage, UtcDateTime, enum_column, utcnow
from helpdesk.models.tickets import Message, Ticket


class SurveyKind(StrEnum):
    CSAT = "csat"  # satisfaction, 1-5
    NPS = "nps"  # likelihood to recommend, 0-10


class FollowUpMode(StrEnum):
    TICKET = "ticket"  # a new internal ticket for the agent who handled the rated one
    FLAG = "flag"  # the rated ticket waits in the "To follow up" view until cleared


class Survey(db.Model):
    """One per ticket: asked on the ticket's channel at its first solve, answered once (a later
    answer replaces it); an unhappy answer gets a follow-up."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("kind <> 'csat' OR score BETWEEN 1 AND 5", name="csat_score_range"),
        CheckConstraint("kind <> 'nps' OR score BETWEEN 0 AND 10", name="nps_score_range"),
        # Reports read answers by when they came in.
        Index("ix_surveys_answered_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    kind: Mapped[SurveyKind] = mapped_column(
        enum_column(SurveyKind), default=SurveyKind.CSAT, server_default=SurveyKind.CSAT.value
    )
    question_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The ticket's stage when the answer came: the figures count it there, whatever the stage
    # becomes later.
    stage: Mapped[Stage | None] = mapped_column(enum_column(Stage))
    # The follow-up an unhappy answer opened, and when someone acted on it (the follow-up
    # ticket's first reply or solve; for a flag, when an agent cleared it).
    follow_up: Mapped[FollowUpMode | None] = mapped_column(enum_column(FollowUpMode))
    follow_up_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    followed_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    ticket: Mapped[Ticket] = relationship(foreign_keys=[ticket_id])
    question: Mapped[Message | None] = relationship()
    follow_up_ticket: Mapped[Ticket | None] = relationship(foreign_keys=[follow_up_ticket_id])


class StageSurvey(db.Model):
    """The question a journey stage's solved tickets ask; a stage without a row asks none."""

    __tablename__ = "stage_surveys"

    stage: Mapped[Stage] = mapped_column(enum_column(Stage), primary_key=True)
    kind: Mapped[SurveyKind] = mapped_column(enum_column(SurveyKind))


class SurveyPolicy(db.Model):
    """The install's one row of survey settings beside the per-stage questions."""

    __tablename__ = "survey_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up: Mapped[FollowUpMode] = mapped_column(
        enum_column(FollowUpMode), default=FollowUpMode.FLAG
    )
    # A customer is asked at most once in this many days, whichever ticket is solved.
    ask_interval_days: Mapped[int] = mapped_column(default=30)
