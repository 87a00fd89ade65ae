"""API views of spam and the trash: mark a ticket as spam and back, delete it, restore it.

Spam and deleted tickets are left out of `GET /tickets` (but `in=spam`, and `in=trash` for
admins) and of the reports; a deleted ticket answers 404 to everyone but admins.
"""

from __future__ import annotations

from helpdesk.extensions import db
from helpdesk.models import TokenScope
from helpdesk.tickets import trash
from helpdesk.web.api import bp, schemas
from helpdesk.web.api.auth import ADMINS, MANAGERS, api_user, require_role
from helpdesk.web.api.errors import ApiError
from helpdesk.web.api.openapi import operation
from helpdesk.web.api.ticket_answers import ETAG, Headers, ticket_or_404, with_etag


@bp.post("/tickets/<int:ticket_id>/spam")
@operation(
    "markTicketSpam",
    (200, schemas.Ticket, "The ticket, marked as spam."),
    (401, 404, 422),
    response_headers=ETAG,
)
def mark_spam(ticket_id: int) -> tuple[schemas.Ticket, Headers]:
    """Mark a ticket as spam

    It leaves the lists (but `in=spam`) and the reports, and its deadlines wait; a customer's
    later message on it lands there quietly (no reopening). Marking a spam ticket again changes
    nothing.
    """
    ticket = ticket_or_404(ticket_id)
    trash.mark_spam(ticket, api_user())
    db.session.commit()
    return with_etag(ticket)


@bp.delete("/tickets/<int:ticket_id>/spam")
@operation(
    "unmarkTicketSpam",
    (200, schemas.Ticket, "The ticket, not spam."),
    (401, 404, 422),
    response_headers=ETAG,
)
def unmark_spam(ticket_id: int) -> tuple[schemas.Ticket, Headers]:
    """Take the spam mark off a ticket ("not spam")

    It is back in the lists and reports as it was.
    """
    ticket = ticket_or_404(ticket_id)
    trash.unmark_spam(ticket, api_user())
    db.session.commit()
    return with_etag(ticket)


@bp.delete("/tickets/<int:ticket_id>")
@operation("deleteTicket", (204, None, "Moved to the trash."), (401, 404, 422))
def delete_ticket(ticket_id: int) -> tuple[str, int]:
    """Delete a ticket (managers and admins)

    The ticket moves to the trash: gone from every list, search and report, and 404 to all but
    admins. An admin restores it within 30 days; then it is removed for good with its messages
    and files. Replies queued before are still sent.
    """
    user = require_role(MANAGERS, "only managers and admins delete tickets")
    ticket = ticket_or_404(ticket_id)
    trash.delete_ticket(ticket, user)
    db.session.commit()
    return "", 204


@bp.post("/tickets/<int:ticket_id>/restore")
@operation(
    "restoreTicket",
    (200, schemas.Ticket, "The ticket, back as it was."),
    (401, 404, 409),
    response_headers=ETAG,
    scope=TokenScope.ADMIN,
)
def restore_ticket(ticket_id: int) -> tuple[schemas.Ticket, Headers]:
    """Restore a deleted ticket (admins)

    Everything comes back as it was before the deletion. A ticket not in the trash answers 409
    `refused`.
    """
    user = require_role(ADMINS, "only admins restore deleted tickets")
    ticket = ticket_or_404(ticket_id, writing=False)
    if not ticket.is_deleted:
        raise ApiError(409, "refused", f"ticket {ticket_id} is not in the trash")
    trash.restore(ticket, user)
    db.session.commit()
    return with_etag(ticket)
