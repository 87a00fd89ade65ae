"""API views of tags: the tags in use, and one tag put on or taken off a ticket.

Putting on and taking off are idempotent, as the ticket page's tag box is: a tag already there
(or already gone) changes nothing; a change is one event and moves the ticket's version.
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk.extensions import db
from helpdesk.models import Ticket, User
from helpdesk.tickets import service, versions
from helpdesk.tickets.errors import InvalidInput
from helpdesk.web.api import bp, schemas, tag_schemas
from helpdesk.web.api.auth import api_user
from helpdesk.web.api.errors import invalid
from helpdesk.web.api.openapi import operation
from helpdesk.web.api.ticket_answers import ETAG, Headers, ticket_or_404, with_etag


@bp.get("/tags")
@operation("listTags", (200, tag_schemas.TagList, "The tags in use, the most used first."))
def list_tags() -> tag_schemas.TagList:
    """The tags on tickets, with how many tickets carry each"""
    uses = service.tag_uses()
    return tag_schemas.TagList(
        items=[tag_schemas.TagUse(name=name, tickets=count) for name, count in uses]
    )


@bp.put("/tickets/<int:ticket_id>/tags/<tag>")
@operation(
    "addTicketTag",
    (200, schemas.Ticket, "The ticket with the tag."),
    (400, 401, 404, 422),
    response_headers=ETAG,
)
def add_ticket_tag(ticket_id: int, tag: str) -> tuple[schemas.Ticket, Headers]:
    """Put a tag on a ticket (made on first use); audited

    Nothing changes when the ticket has it already. `Beta tester` is the tag `beta-tester`; a
    name that is no tag is refused with 400 `invalid` naming `tag`.
    """
    return _changed(ticket_id, tag, service.add_tag)


@bp.delete("/tickets/<int:ticket_id>/tags/<tag>")
@operation(
    "removeTicketTag",
    (200, schemas.Ticket, "The ticket without the tag."),
    (400, 401, 404, 422),
    response_headers=ETAG,
)
def remove_ticket_tag(ticket_id: int, tag: str) -> tuple[schemas.Ticket, Headers]:
    """Take a tag off a ticket; audited

    Nothing changes when the ticket does not have it.
    """
    return _changed(ticket_id, tag, service.remove_tag)


def _changed(
    ticket_id: int, tag: str, change: Callable[[Ticket, User, str], str]
) -> tuple[schemas.Ticket, Headers]:
    # Under the ticket's lock: two callers putting the same tag on at once both see it once.
    versions.lock(ticket_id)
    ticket = ticket_or_404(ticket_id)
    try:
        name = service.tag_name(tag)
    except InvalidInput as unfit:
        raise invalid(f"tag: {unfit}", "tag") from None
    change(ticket, api_user(), name)
    db.session.commit()
    return with_etag(ticket)
