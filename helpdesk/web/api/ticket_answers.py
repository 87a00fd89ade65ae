"""A ticket as the API answers it: found by the id in its URL as the token's user may see it,
shown with its ``ETag``."""

from __future__ import annotations

from flask import request
from werkzeug.http import quote_etag

from helpdesk.extensions import db
from helpdesk.models import Role, Ticket
from helpdesk.tickets import queries, trash, versions
from helpdesk.web.api import schemas
from helpdesk.web.api.auth import api_user
from helpdesk.web.api.errors import ApiError

Headers = dict[str, str]
ETAG = {"ETag": 'The ticket\'s version, `"<id>-<version>"`, to send back as `If-Match`.'}


def ticket_or_404(ticket_id: int, *, writing: bool = True) -> Ticket:
    """The ticket with its messages, events and customer loaded, as the token's user may see it
    (see ``visible``)."""
    return visible(queries.ticket_with_thread(ticket_id), ticket_id, writing=writing)


def ticket_row_or_404(ticket_id: int) -> Ticket:
    """The ticket alone, nothing of its thread loaded, to read as the token's user may."""
    return visible(db.session.get(Ticket, ticket_id), ticket_id, writing=False)


def visible(ticket: Ticket | None, ticket_id: int, *, writing: bool = True) -> Ticket:
    """404 ``not_found`` for no ticket, or for a deleted one but to an admin; a write to a
    deleted one is refused (422) until it is restored."""
    if ticket is None or (ticket.is_deleted and api_user().role != Role.ADMIN):
        raise ApiError(404, "not_found", f"no ticket with id {ticket_id}")
    if writing and request.method != "GET":
        trash.refuse_if_deleted(ticket)
    return ticket


def with_etag(ticket: Ticket) -> tuple[schemas.Ticket, Headers]:
    """The ticket's representation and its ``ETag`` header."""
    return schemas.Ticket.of(ticket), {"ETag": quote_etag(versions.etag(ticket))}
