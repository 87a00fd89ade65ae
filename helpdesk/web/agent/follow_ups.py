"""Survey follow-ups on the agent's pages: the links between a rated ticket and its follow-up,
the "To follow up" count, and clearing a flag."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import FollowUpMode, Survey, Ticket
from helpdesk.tickets import follow_ups, queries, service
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp


@dataclass(frozen=True, slots=True)
class FollowUpLinks:
    """What the ticket page says about survey follow-ups on this ticket."""

    rated: Survey | None  # this ticket's own survey, when its answer asked for a follow-up
    acting_on: Survey | None  # the survey this ticket is the follow-up of

    @property
    def flagged(self) -> bool:
        return (
            self.rated is not None
            and self.rated.follow_up == FollowUpMode.FLAG
            and self.rated.followed_up_at is None
        )


@bp.app_template_global()
def survey_follow_up(ticket: Ticket) -> FollowUpLinks:
    """The follow-up links of a ticket, for the agent/_survey_follow_up.html include."""
    rated = service.survey_of(ticket)
    return FollowUpLinks(
        rated if rated is not None and rated.follow_up is not None else None,
        follow_ups.follow_up_for(ticket),
    )


@bp.app_template_global()
def to_follow_up_count() -> queries.StatusCount:
    """How many tickets wait in the "To follow up" view."""
    [count] = queries.capped_counts([queries.TicketFilter(has=(queries.Trait.FOLLOW_UP,))])
    return count


@bp.post("/tickets/<int:ticket_id>/followed-up")
@staff_required
def mark_followed_up(ticket_id: int) -> Response:
    ticket = db.session.get(Ticket, ticket_id) or abort(404)
    try:
        service.mark_followed_up(ticket, current_user)
    except TicketError as refused:
        db.session.rollback()
        flash(f"Not changed: {refused}.", "error")
    else:
        db.session.commit()
        flash(f"#{ticket.number} is followed up.", "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket.id))
