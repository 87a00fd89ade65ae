"""API views of a ticket's conversation read on its own: long threads a page at a time, and
every file on it with where to download it."""

from __future__ import annotations

from flask import request, url_for

from helpdesk.models import Attachment
from helpdesk.tickets import attachments, queries
from helpdesk.web.api import bp, conversation_schemas, query_schemas, schemas
from helpdesk.web.api.openapi import operation
from helpdesk.web.api.ticket_answers import ticket_row_or_404


@bp.get("/tickets/<int:ticket_id>/messages")
@operation(
    "listTicketMessages",
    (200, conversation_schemas.MessagePage, "One page of the ticket's messages."),
    (401, 404),
    query=query_schemas.PageQuery,
)
def list_messages(ticket_id: int) -> conversation_schemas.MessagePage:
    """A ticket's messages and notes, oldest first, paginated by cursor

    Each as `GET /tickets/{id}` shows it; for threads too long to read in one answer.
    """
    ticket_row_or_404(ticket_id)
    query: query_schemas.PageQuery = request.context.query
    page = queries.message_page(ticket_id, query.limit, query.cursor)
    return conversation_schemas.MessagePage.model_validate(page, from_attributes=True)


@bp.get("/tickets/<int:ticket_id>/attachments")
@operation(
    "listTicketAttachments",
    (200, conversation_schemas.TicketFileList, "Every file on the ticket."),
    (401, 404),
)
def list_attachments(ticket_id: int) -> conversation_schemas.TicketFileList:
    """Every file on a ticket's messages, received or sent, with the message it is on"""
    ticket_row_or_404(ticket_id)
    return conversation_schemas.TicketFileList(
        items=[_file(attachment) for attachment in attachments.ticket_files(ticket_id)]
    )


def _file(attachment: Attachment) -> conversation_schemas.TicketFile:
    url = None
    if attachment.stored:
        url = url_for("api.get_attachment", attachment_id=attachment.id)
    shown = schemas.Attachment.model_validate(attachment)
    return conversation_schemas.TicketFile(
        **dict(shown), message_id=attachment.message_id, download_url=url
    )
