"""Mail from someone not on the ticket: the agent may bring its writer onto the ticket's Cc."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import utcnow
from helpdesk.tickets.copies import InvalidCc, copy_outsider
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp
from helpdesk.web.agent.routes import _flash_refusal, _message_or_404


@bp.post("/tickets/<int:ticket_id>/messages/<int:message_id>/copy-sender")
@staff_required
def copy_sender(ticket_id: int, message_id: int) -> Response:
    """Copy the writer of a mail from outside the ticket on its replies (Cc) from now on."""
    message = _message_or_404(ticket_id, message_id)
    address = message.sender
    try:
        copy_outsider(message.ticket, message, current_user, utcnow())
    except InvalidCc as refused:
        db.session.rollback()
        _flash_refusal("Not added to Cc", refused)
    else:
        db.session.commit()
        flash(f"{address} is on the Cc now: every reply copies them.", "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id, _anchor=f"message-{message_id}"))
