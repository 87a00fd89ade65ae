"""The stage model's suggestion on the ticket page, and accepting it in one click."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import StagePrediction, Ticket
from helpdesk.stage_model import suggestions
from helpdesk.tickets import versions
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp


@bp.app_template_global()
def stage_suggestion(ticket: Ticket) -> StagePrediction | None:
    """The model's open suggestion for a ticket, for the agent/_stage_suggestion.html include."""
    return suggestions.open_suggestion(ticket)


@bp.post("/tickets/<int:ticket_id>/stage-suggestion")
@staff_required
def accept_stage_suggestion(ticket_id: int) -> Response:
    # Under the ticket's lock, as every property change: no other writer slips in between.
    ticket = versions.lock(ticket_id) or abort(404)
    try:
        accepted = suggestions.accept_suggestion(ticket, current_user)
    except TicketError as refused:
        db.session.rollback()
        flash(f"Not changed: {refused}.", "error")
    else:
        db.session.commit()
        flash(f"Stage set to {accepted.stage.value}, as suggested.", "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))
