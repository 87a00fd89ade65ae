"""Acting on unhappy answers: a detractor (NPS 0-6) or an unhappy rating (CSAT 1-2) opens a
follow-up for the team, as the install chose: a new internal ticket for the agent who handled
the rated one, or a flag that keeps the rated ticket in the "To follow up" view until cleared.

A follow-up ticket counts as followed up at its first action by a person (a note, a reply, a
change, the solve), read from its events; a flag when an agent clears it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import (
    Direction,
    FollowUpMode,
    Message,
    Priority,
    Survey,
    SurveyKind,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import survey_settings, surveys
from helpdesk.tickets.errors import InvalidInput
from helpdesk.tickets.events import SUBJECT_LENGTH, _record

# The highest score that still asks for a follow-up, per kind.
UNHAPPY_UP_TO = {SurveyKind.NPS: 6, SurveyKind.CSAT: 2}


def is_unhappy(survey: Survey) -> bool:
    """A detractor (NPS 0-6) or an unhappy rating (CSAT 1-2)."""
    return survey.score is not None and survey.score <= UNHAPPY_UP_TO[survey.kind]


def act_on(survey: Survey, at: datetime) -> None:
    """Open the follow-up an unhappy answer calls for, once per survey."""
    if survey.follow_up is not None or not is_unhappy(survey):
        return
    survey.follow_up = survey_settings.policy().follow_up
    if survey.follow_up == FollowUpMode.TICKET:
        survey.follow_up_ticket = _open_follow_up_ticket(survey, at)
        _record(survey.ticket, None, "follow-up", None, f"#{survey.follow_up_ticket.number}", at)
    else:
        _record(survey.ticket, None, "follow-up", None, "flagged to follow up", at)


def mark_followed_up(ticket: Ticket, actor: User, *, at: datetime | None = None) -> None:
    """Clear a flagged ticket from the "To follow up" view: someone has followed it up."""
    survey = db.session.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    if survey is None or survey.follow_up != FollowUpMode.FLAG:
        raise InvalidInput("this ticket is not flagged to follow up")
    if survey.followed_up_at is not None:
        raise InvalidInput("this ticket was already followed up")
    at = at or utcnow()
    survey.followed_up_at = at
    _record(survey.ticket, actor, "followed-up", None, "cleared the follow-up flag", at)
    db.session.flush()


def done_at(survey: Survey) -> datetime | None:
    """When the follow-up was done: the flag's clearing, or the follow-up ticket's first
    action by a person."""
    if survey.follow_up == FollowUpMode.TICKET and survey.follow_up_ticket_id is not None:
        return first_action_at(survey.follow_up_ticket_id)
    return survey.followed_up_at


def first_action_at(ticket_id: int) -> datetime | None:
    """The first thing a person did on a ticket (note, reply, any change), if anything."""
    return db.session.scalar(
        select(func.min(TicketEvent.created_at)).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.actor_id.is_not(None)
        )
    )


def follow_up_for(ticket: Ticket) -> Survey | None:
    """The survey whose unhappy answer this follow-up ticket acts on."""
    return db.session.scalar(select(Survey).where(Survey.follow_up_ticket_id == ticket.id))


def _open_follow_up_ticket(survey: Survey, at: datetime) -> Ticket:
    """A new ticket for the same customer, back to the agent (and team) who handled the rated
    one; nothing is sent to the customer."""
    # Intake reaches the ratings (a texted score) and through them this module: import late.
    from helpdesk.tickets.intake import next_ticket_number

    rated = survey.ticket
    answer = f"{survey.kind.value.upper()} {survey.score}/{surveys.SCALES[survey.kind][-1]}"
    ticket = Ticket(
        number=next_ticket_number(),
        subject=f"Follow up: {answer} on #{rated.number} {rated.subject}"[:SUBJECT_LENGTH],
        status=TicketStatus.NEW,
        priority=Priority.NORMAL,
        channel=rated.channel,
        endpoint=rated.endpoint,
        stage=rated.stage,
        intake_stage=rated.stage,
        stage_source=rated.stage_source,
        stage_reason=f"follow-up of #{rated.number}",
        assignee=rated.assignee,
        team=rated.team,
        team_set_by_hand=True,
        customer=rated.customer,
        previous_ticket=rated,
        proactive=True,
        reopen_count=0,
        created_at=at,
        updated_at=at,
    )
    db.session.add(ticket)
    said = f"\n\nTheir comment: {survey.comment}" if survey.comment else ""
    db.session.add(
        Message(
            ticket=ticket,
            direction=Direction.NOTE,
            channel=rated.channel,
            endpoint=rated.endpoint,
            text=f"The customer answered the survey on #{rated.number} with {answer}.{said}",
            thread_reason="survey follow-up",
            created_at=at,
        )
    )
    _record(ticket, None, "created", None, f"follow-up of #{rated.number}: {answer}", at)
    return ticket
