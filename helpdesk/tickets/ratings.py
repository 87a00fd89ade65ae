"""The satisfaction survey's rules: a solved ticket asks once, a rating from 1 to 5 answers it.

``surveys`` words the question and signs the link; this module decides and stores.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from channels.base import Channel, InboundMessage
from helpdesk.extensions import db
from helpdesk.models import Survey, Ticket, TicketStatus, utcnow
from helpdesk.tickets import surveys
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
    """Store the customer's rating 1-5 and comment; a later answer replaces it. Never reopens."""
    score = _parse_score(score)
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_LENGTH:
        raise InvalidInput(f"the comment has at most {COMMENT_LENGTH} characters")
    at = at or utcnow()
    before = f"{survey.score}/5" if survey.score is not None else None
    survey.score, survey.comment, survey.answered_at = score, comment, at
    rated = f"{score}/5" + (f": {_excerpt(comment)}" if comment else "")
    _record(survey.ticket, None, "csat", before, rated, at)
    db.session.flush()


def ask_for_rating(ticket: Ticket, at: datetime | None = None) -> Survey | None:
    """Queue the ticket's one satisfaction question on its channel; None if asked before."""
    at = at or utcnow()
    if _reply_recipient(ticket) is None:
        return None
    if survey_of(ticket) is not None:
        return None  # asked at an earlier solve: one question per ticket
    # The email link is signed over the ticket id, so the survey needs no flush of its own.
    survey = Survey(ticket=ticket, ticket_id=ticket.id, channel=ticket.channel, sent_at=at)
    db.session.add(survey)
    text = surveys.question_text(survey, ticket.number)
    survey.question = _queue_outbound(ticket, None, text, "satisfaction survey", at, automatic=True)
    _record(ticket, None, "survey", None, f"asked on {ticket.channel.value}", at)
    return survey


def survey_of(ticket: Ticket) -> Survey | None:
    """The ticket's satisfaction survey, if it was asked."""
    return db.session.scalar(select(Survey).where(Survey.ticket_id == ticket.id))


_RATED_BY_REPLY = (Channel.SMS, Channel.CHAT)


def _awaited_rating(msg: InboundMessage, match: ThreadMatch | None) -> Survey | None:
    """The survey a message answers: a bare 1-5 by SMS or in the chat, on a solved or closed
    ticket that asked (both channels ask for a number to be sent back)."""
    if match is None or msg.channel not in _RATED_BY_REPLY or msg.auto_submitted:
        return None
    if match.ticket.status not in _CLOSED_FOR_CUSTOMERS or surveys.bare_score(msg.text) is None:
        return None
    return survey_of(match.ticket)


def _parse_score(score: int | str | None) -> int:
    try:
        value = int(score)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = 0
    if value not in surveys.SCORES:
        raise InvalidInput(f"a rating is a whole number from 1 to 5, not {score!r}")
    return value
