"""The survey's rules: which question a solved ticket asks (CSAT or NPS, by its stage), how
often one customer is asked, and how an answer is stored.

``surveys`` words the question and signs the link; ``follow_ups`` acts on unhappy answers; this
module decides and stores.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from channels.base import Channel, InboundMessage
from helpdesk.extensions import db
from helpdesk.models import (
    Survey,
    SurveyKind,
    Ticket,
    TicketStatus,
    utcnow,
)
from helpdesk.tickets import follow_ups, survey_settings, surveys
from helpdesk.tickets.errors import InvalidInput
from helpdesk.tickets.events import _excerpt, _record
from helpdesk.tickets.outbound import _queue_outbound, _reply_recipient
from helpdesk.tickets.threading import ThreadMatch

COMMENT_LENGTH = 2000
_CLOSED_FOR_CUSTOMERS = (TicketStatus.SOLVED, TicketStatus.CLOSED)


def answer_survey(
    survey: Survey,
    score: int | str | None,
    comment: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Store the customer's score (1-5 for CSAT, 0-10 for NPS) and comment; a later answer
    replaces it. Counts under the ticket's stage now; an unhappy score opens a follow-up.
    Never reopens."""
    # A survey not yet flushed has no kind until its column default applies: CSAT.
    survey.kind = survey.kind or SurveyKind.CSAT
    score = _parse_score(score, survey.kind)
    comment = _clean_comment(comment)
    at = at or utcnow()
    before = _shown(survey, survey.score) if survey.score is not None else None
    survey.score, survey.comment, survey.answered_at = score, comment, at
    survey.stage = survey.ticket.stage
    rated = _shown(survey, score) + (f": {_excerpt(comment)}" if comment else "")
    _record(survey.ticket, None, survey.kind.value, before, rated, at)
    follow_ups.act_on(survey, at)
    db.session.flush()


def comment_on_survey(survey: Survey, comment: str | None, *, at: datetime | None = None) -> None:
    """Keep the comment a customer adds after their score (the chat widget's box)."""
    if survey.score is None:
        raise InvalidInput("rate first, then add a comment")
    comment = _clean_comment(comment)
    if comment is None:
        raise InvalidInput("the comment is empty")
    survey.comment = comment
    at = at or utcnow()
    _record(survey.ticket, None, "survey-comment", None, _excerpt(comment), at)
    db.session.flush()


def question_kind(ticket: Ticket) -> SurveyKind | None:
    """What a solved ticket asks: its stage's choice once an admin has chosen per stage,
    else CSAT when HELPDESK_CSAT=on, else nothing."""
    chosen = survey_settings.stage_kinds()
    if chosen:
        return chosen.get(ticket.stage)
    return SurveyKind.CSAT if current_app.config["HELPDESK_CSAT"] else None


def ask_at_solve(ticket: Ticket, at: datetime) -> Survey | None:
    """Ask the question the solved ticket's stage calls for, if any (see ``question_kind``)."""
    kind = question_kind(ticket)
    return ask_for_rating(ticket, at, kind=kind) if kind is not None else None


def ask_for_rating(
    ticket: Ticket, at: datetime | None = None, *, kind: SurveyKind = SurveyKind.CSAT
) -> Survey | None:
    """Queue the ticket's one survey question on its channel; None when nobody can be asked
    (spam and deleted tickets ask nobody), it was asked before, or its customer was asked too
    recently."""
    at = at or utcnow()
    if ticket.is_spam or ticket.is_deleted or _reply_recipient(ticket) is None:
        return None
    if survey_of(ticket) is not None:
        return None  # asked at an earlier solve: one question per ticket
    if _asked_recently(ticket, at):
        return None
    # The email link is signed over the ticket id, so the survey needs no flush of its own.
    survey = Survey(
        ticket=ticket, ticket_id=ticket.id, channel=ticket.channel, kind=kind, sent_at=at
    )
    db.session.add(survey)
    text = surveys.question_text(survey, ticket.number)
    survey.question = _queue_outbound(
        ticket, None, text, surveys.QUESTION_REASON, at, automatic=True
    )
    _record(ticket, None, "survey", None, f"{kind.value} asked on {ticket.channel.value}", at)
    return survey


def survey_of(ticket: Ticket) -> Survey | None:
    """The ticket's survey, if it was asked."""
    return db.session.scalar(select(Survey).where(Survey.ticket_id == ticket.id))


def _asked_recently(ticket: Ticket, at: datetime) -> bool:
    """True when per-stage surveys are in force and this customer was asked within the
    interval (HELPDESK_CSAT alone keeps its meaning: a question after every solved ticket)."""
    if not survey_settings.per_stage():
        return False
    since = at - timedelta(days=survey_settings.policy().ask_interval_days)
    return (
        db.session.scalar(
            select(Survey.id)
            .join(Ticket, Ticket.id == Survey.ticket_id)
            .where(Ticket.customer_id == ticket.customer_id, Survey.sent_at > since)
            .limit(1)
        )
        is not None
    )


_RATED_BY_REPLY = (Channel.SMS, Channel.CHAT)


def _awaited_rating(msg: InboundMessage, match: ThreadMatch | None) -> Survey | None:
    """The survey a message answers: a bare number on its scale by SMS or in the chat, on a
    solved or closed ticket that asked (both channels ask for a number to be sent back)."""
    if match is None or msg.channel not in _RATED_BY_REPLY or msg.auto_submitted:
        return None
    if match.ticket.status not in _CLOSED_FOR_CUSTOMERS:
        return None
    survey = survey_of(match.ticket)
    if survey is None or surveys.bare_score(msg.text, survey.kind) is None:
        return None
    return survey


def _shown(survey: Survey, score: int) -> str:
    return f"{score}/{surveys.SCALES[survey.kind][-1]}"


def _clean_comment(comment: str | None) -> str | None:
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_LENGTH:
        raise InvalidInput(f"the comment has at most {COMMENT_LENGTH} characters")
    return comment


def _parse_score(score: int | str | None, kind: SurveyKind) -> int:
    scale = surveys.SCALES[kind]
    try:
        value = int(score)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = -1
    if value not in scale:
        raise InvalidInput(
            f"a rating is a whole number from {scale[0]} to {scale[-1]}, not {score!r}"
        )
    return value
