"""A ticket as the API answers it: found by the id in its URL with its whole thread, shown
with its ``ETag``."""

from __future__ import annotations

from werkzeug.http import quote_etag

from helpdesk.models import Ticket
from helpdesk.tickets import queries, versions
from helpdesk.web.api import schemas
from helpdesk.web.api.errors import ApiError

Headers = dict[str, str]
ETAG = {"ETag": 'The ticket\'s version, `"<id>-<version>"`, to send back as `If-Match`.'}


def ticket_or_404(ticket_id: int) -> Ticket:
    """The ticket with its messages, events and customer loaded; 404 ``not_found`` if none."""
    ticket = queries.ticket_with_thread(ticket_id)
    if ticket is None:
        raise ApiError(404, "not_found", f"no ticket with id {ticket_id}")
    return ticket


def with_etag(ticket: Ticket) -> tuple[schemas.Ticket, Headers]:
    """The ticket's representation and its ``ETag`` header."""
    return schemas.Ticket.of(ticket), {"ETag": quote_etag(versions.etag(ticket))}
