"""Spam and delete from the ticket page: any agent marks spam and takes the mark off; managers
and admins move a ticket to the trash (admins restore it from the admin Trash page)."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import Role, Ticket, User
from helpdesk.tickets import trash
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import roles_required, staff_required
from helpdesk.web.agent import bp
from helpdesk.web.agent.routes import OPEN_WORK, _flash_refusal, _ticket_or_404


@bp.post("/tickets/<int:ticket_id>/spam")
@staff_required
def mark_spam(ticket_id: int) -> Response:
    """Mark the ticket as spam: it leaves the queue and the reports, and stays findable."""
    return _spam_step(
        ticket_id,
        trash.mark_spam,
        "Not marked as spam",
        "#{number} is marked as spam: it is in the Spam list, out of the queue.",
    )


@bp.post("/tickets/<int:ticket_id>/not-spam")
@staff_required
def unmark_spam(ticket_id: int) -> Response:
    """Not spam after all: back in the queue and the reports as it was."""
    return _spam_step(
        ticket_id,
        trash.unmark_spam,
        "Not changed",
        "#{number} is not spam: it is back in the queue.",
    )


def _spam_step(
    ticket_id: int, step: Callable[[Ticket, User], object], refused_as: str, done: str
) -> Response:
    """Take one spam step on the ticket and say how it went on its page."""
    found = _ticket_or_404(ticket_id)
    try:
        step(found, current_user)
    except TicketError as refused:
        db.session.rollback()
        _flash_refusal(refused_as, refused)
    else:
        number = found.number
        db.session.commit()
        flash(done.format(number=number), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/delete")
@roles_required(Role.MANAGER, Role.ADMIN)
def delete_ticket(ticket_id: int) -> Response:
    """Move the ticket to the trash; an admin may restore it until it is purged."""
    found = _ticket_or_404(ticket_id)
    number = found.number
    trash.delete_ticket(found, current_user)
    db.session.commit()
    flash(
        f"#{number} was moved to the trash: an admin can restore it within "
        f"{trash.RETENTION_DAYS} days.",
        "success",
    )
    return redirect(url_for("agent.queue", status=OPEN_WORK))
