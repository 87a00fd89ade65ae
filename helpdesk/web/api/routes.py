"""API views: take the validated request, call the ticket service, commit once, answer a schema.

Each view's docstring is its summary (first line) and description in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, request

from channels.base import InboundAttachment
from helpdesk.extensions import db
from helpdesk.models import (
    Message,
    StageSource,
    Team,
    Ticket,
    User,
)
from helpdesk.reports import stage_load, survey_figures
from helpdesk.tickets import assignment, bulk, queries, service, versions
from helpdesk.tickets.bins import Bin
from helpdesk.tickets.copies import addresses_in
from helpdesk.tickets.errors import InvalidInput
from helpdesk.web.api import bp, change_schemas, openapi, query_schemas, schemas, survey_schemas
from helpdesk.web.api.auth import ADMINS, MANAGERS, api_user, require_role
from helpdesk.web.api.dashboard_schemas import HotSpot
from helpdesk.web.api.errors import ApiError, referenced
from helpdesk.web.api.openapi import operation
from helpdesk.web.api.ticket_answers import ETAG, Headers, ticket_or_404, visible, with_etag
from helpdesk.web.downloads import attachment_response, stored_attachment


@bp.get("/openapi.json")
@operation("getOpenApi", (200, None, "The OpenAPI document."), errors=(), public=True)
def openapi_json() -> Response:
    """This document"""
    return current_app.json.response(openapi.document())


@bp.get("/tickets")
@operation(
    "listTickets",
    (200, schemas.TicketPage, "One page of tickets."),
    query=query_schemas.TicketQuery,
)
def list_tickets() -> schemas.TicketPage:
    """Tickets, filtered, sorted and paginated by cursor"""
    query: query_schemas.TicketQuery = request.context.query
    filters = queries.TicketFilter.from_args(
        request.args, me=api_user().id, timezone=current_app.config["HELPDESK_TIMEZONE"]
    )
    if filters.in_bin == Bin.TRASH:
        require_role(ADMINS, "the trash is for admins only")
    page = queries.ticket_page(filters, query.limit, query.cursor, queries.QueueSort(query.sort))
    return schemas.TicketPage.model_validate(page, from_attributes=True)


@bp.get("/tickets/<int:ticket_id>")
@operation(
    "getTicket",
    (200, schemas.Ticket, "The ticket."),
    (401, 404),
    response_headers=ETAG,
)
def get_ticket(ticket_id: int) -> tuple[schemas.Ticket, Headers]:
    """A ticket with its customer, messages and audit trail

    The `ETag` header holds the ticket's version, to send back as `If-Match` on a `PATCH`.
    """
    return with_etag(ticket_or_404(ticket_id))


@bp.patch("/tickets/<int:ticket_id>")
@operation(
    "updateTicket",
    (200, schemas.Ticket, "The updated ticket."),
    (401, 404, 412, 422),
    response_headers=ETAG,
    json=change_schemas.TicketChanges,
    headers=query_schemas.TicketHeaders,
)
def update_ticket(ticket_id: int) -> tuple[schemas.Ticket, Headers]:
    """Change status, priority, stage, team, assignee or tags; each change is audited

    Only the fields in the body are written; the others stay as they are, whoever changed them
    last. A stage set here gets `stage_source` `api`; `intake_stage` stays. With `If-Match`,
    nothing is written when the ticket changed since that ETag (412 `stale`).
    """
    ticket = ticket_or_404(ticket_id)
    changes: change_schemas.TicketChanges = request.context.json
    user = api_user()
    if request.if_match:
        # Compared under the ticket's lock, so no other write lands between check and change.
        versions.lock(ticket_id)
        if not request.if_match.contains(versions.etag(ticket)):
            raise ApiError(
                412,
                "stale",
                f"the ticket changed since that ETag; it is now version {ticket.version}: "
                "GET it again, then decide",
            )
    sent = changes.model_fields_set
    if "status" in sent:
        service.set_status(ticket, user, changes.status)
    if "priority" in sent:
        service.set_priority(ticket, user, changes.priority)
    if "stage" in sent:
        service.set_stage(ticket, user, changes.stage, source=StageSource.API)
    if "team" in sent:
        service.set_team(ticket, user, _team(changes.team))
    if "assignee" in sent:
        service.assign(ticket, user, _assignee(changes.assignee))
    if "tags" in sent:
        service.set_tags(ticket, user, changes.tags or [])
    if "team" in sent:
        # Moved into a team without an assignee: the team's automatic assignment takes it.
        assignment.offer(ticket)
    db.session.commit()
    return with_etag(ticket)


@bp.post("/tickets/bulk")
@operation(
    "bulkUpdateTickets",
    (200, schemas.BulkOutcome, "What changed, what already was so, and what was refused, why."),
    (401, 422),
    json=change_schemas.BulkRequest,
)
def bulk_update() -> schemas.BulkOutcome:
    """Change many tickets at once: by ids or by the queue's filters, at most 1,000

    One transaction; each ticket changes as a `PATCH` without `If-Match` would change it (an
    event per change, its version up by one), or is refused with the reason and left as it was
    (a deactivated assignee; a closed ticket takes only tags; an id that names no ticket). A
    stage set here gets `stage_source` `api`. Unusable changes (an unknown status, a macro with
    a reply text) are refused as a whole with 422 and change nothing. `spam` and `deleted`
    change closed tickets too; a ticket deleted meanwhile is refused.
    """
    body: change_schemas.BulkRequest = request.context.json
    user = api_user()
    if body.changes.deleted:
        require_role(MANAGERS, "only managers and admins delete tickets")
    target: list[int] | queries.TicketFilter
    if body.filter is not None:
        sent = body.filter.model_dump(mode="json", exclude_none=True)
        target = queries.TicketFilter.from_args(
            sent, me=user.id, timezone=current_app.config["HELPDESK_TIMEZONE"]
        )
    else:
        target = body.ids or []
    try:
        result = bulk.apply_bulk(target, _bulk_changes(body.changes, user), user)
    except bulk.TooManyTickets as too_many:
        raise ApiError(400, "too_many", str(too_many)) from None
    db.session.commit()
    return schemas.BulkOutcome(
        changed=result.changed,
        unchanged=result.unchanged,
        refused=[{"id": r.ticket_id, "reason": r.reason} for r in result.refused],
    )


def _bulk_changes(body: change_schemas.BulkChanges, user: User) -> bulk.BulkChanges:
    sent = body.model_fields_set
    macro = None
    if body.macro is not None:
        macro = service.visible_macro(user, body.macro)
        if macro is None:
            raise InvalidInput(f"no macro with id {body.macro} that you may apply")
    return bulk.BulkChanges(
        status=body.status,
        priority=body.priority,
        stage=body.stage,
        assignee=_assignee(body.assignee) if "assignee" in sent else bulk.KEEP,
        team=_team(body.team) if "team" in sent else bulk.KEEP,
        tags_add=tuple(body.tags_add),
        tags_remove=tuple(body.tags_remove),
        macro=macro,
        merge_into=referenced(Ticket, body.merge_into, "ticket"),
        spam=body.spam,
        deleted=body.deleted is True,
        stage_source=StageSource.API,
    )


@bp.post("/tickets/<int:ticket_id>/replies")
@operation(
    "replyToTicket",
    (201, schemas.Message, "The queued outbound message."),
    (401, 404, 409, 422),
    json=change_schemas.ReplyText,
    form=change_schemas.ReplyForm,
)
def create_reply(ticket_id: int) -> tuple[schemas.Message, int]:
    """Queue a public reply on the ticket's channel

    As JSON, or as `multipart/form-data` with files (one `files` part per file).
    """

    def reply(
        ticket: Ticket, user: User, body: change_schemas.ReplyText | change_schemas.ReplyForm
    ) -> Message:
        if isinstance(body, change_schemas.ReplyText):
            return service.reply(ticket, user, body.text, cc=body.cc)
        files = [
            InboundAttachment(
                upload.filename or "attachment",
                upload.mimetype or "application/octet-stream",
                upload.read(),
            )
            for upload in body.files
        ]
        cc = None if body.cc is None else addresses_in(body.cc)
        return service.reply(ticket, user, body.text, attachments=files, cc=cc)

    return _write_message(ticket_id, reply)


@bp.post("/tickets/<int:ticket_id>/notes")
@operation(
    "addNote",
    (201, schemas.Message, "The note."),
    (401, 404, 409, 422),
    json=change_schemas.MessageText,
)
def create_note(ticket_id: int) -> tuple[schemas.Message, int]:
    """Add an internal note (never sent to the customer)"""
    return _write_message(
        ticket_id, lambda ticket, user, body: service.add_note(ticket, user, body.text)
    )


@bp.post("/tickets/<int:ticket_id>/merge")
@operation(
    "mergeTicket",
    (200, schemas.Ticket, "The ticket merged into, with the whole conversation."),
    (401, 404, 409, 422),
    json=change_schemas.MergeInto,
    response_headers=ETAG,
)
def merge_ticket(ticket_id: int) -> tuple[schemas.Ticket, Headers]:
    """Merge this ticket into another

    The other ticket keeps its number, customer, channel and stage; this one's messages and
    files move there, its events are copied (each marked with the ticket it happened on), and
    it ends `closed` with `merged_into`. Whatever would have threaded to it (a reply to its
    mail, its `[#N]`, a text or chat) lands on the other ticket from now on. When the
    customers differ, replies still go to the other ticket's customer; this one's proven
    email addresses are copied (`cc`) on an email ticket. Refused with 409 `refused` when
    either ticket was merged already, when both are one, or when the other is closed.
    """
    source = ticket_or_404(ticket_id)
    body: change_schemas.MergeInto = request.context.json
    target = db.session.get(Ticket, body.into)
    if target is None:
        raise ApiError(404, "not_found", f"no ticket with id {body.into}")
    try:
        service.merge(source, target, api_user())
    except service.MergeRefused as refused:
        raise ApiError(409, "refused", str(refused)) from None
    db.session.commit()
    return with_etag(ticket_or_404(body.into))


@bp.post("/tickets/<int:ticket_id>/split")
@operation(
    "splitTicket",
    (201, schemas.Ticket, "The new ticket."),
    (401, 404, 409, 422),
    json=change_schemas.SplitAt,
    response_headers=ETAG,
)
def split_ticket(ticket_id: int) -> tuple[schemas.Ticket, int, Headers]:
    """Split a ticket: a new ticket from one message and those after it

    Same customer, channel, stage, endpoint and conversation; `split_from` names the ticket it
    came from, whose events say which ticket it was split into. The next text from the
    customer's number goes to the newest open ticket: this one. Refused with 409 `refused`
    at the first message (nothing would remain) or when only internal notes would move.
    """
    ticket = ticket_or_404(ticket_id)
    body: change_schemas.SplitAt = request.context.json
    message = db.session.get(Message, body.message_id)
    if message is None or message.ticket_id != ticket.id:
        raise ApiError(404, "not_found", f"no message with id {body.message_id} on this ticket")
    try:
        part = service.split(ticket, message, api_user())
    except service.MergeRefused as refused:
        raise ApiError(409, "refused", str(refused)) from None
    db.session.commit()
    shown, headers = with_etag(ticket_or_404(part.id))
    return shown, 201, headers


@bp.post("/messages/<int:message_id>/retry")
@operation(
    "retryMessage",
    (200, schemas.Message, "The message, queued again."),
    (401, 404, 422),
)
def retry_message(message_id: int) -> schemas.Message:
    """Send a failed message again

    The same message goes back to `queued` with a fresh attempt count (an email keeps its
    Message-ID); its earlier attempts stay in its log. Refused with 422 `refused` and the
    reason when it has not failed, or when the number it goes to opted out of texts.
    """
    message = db.session.get(Message, message_id)
    if message is None:
        raise ApiError(404, "not_found", f"no message with id {message_id}")
    visible(message.ticket, message.ticket_id)
    service.retry_delivery(message, api_user())
    db.session.commit()
    return schemas.Message.model_validate(message)


@bp.get("/attachments/<int:attachment_id>")
@operation("getAttachment", (200, None, "The file."), (401, 404))
def get_attachment(attachment_id: int) -> Response:
    """A file of a message, as it was received or sent

    Pictures come with their own type (shown in place by a browser); anything else as
    `application/octet-stream`. The name is in `Content-Disposition` (RFC 6266, any script).
    404 while an MMS picture is still being fetched.
    """
    attachment = stored_attachment(attachment_id, api_user().role)
    if attachment is None:
        raise ApiError(404, "not_found", f"no stored attachment with id {attachment_id}")
    return attachment_response(attachment)


@bp.get("/reports/stage-load")
@operation(
    "getStageLoad",
    (200, schemas.StageLoad, "One row per stage and channel, zeros included."),
    (401, 403),
    query=query_schemas.StageLoadQuery,
)
def stage_load_report() -> schemas.StageLoad:
    """Service load per journey stage and channel (managers and admins)"""
    require_role(MANAGERS, "reports are for managers and admins")
    timezone = current_app.config["HELPDESK_TIMEZONE"]
    today = datetime.now(ZoneInfo(timezone)).date()
    chosen = stage_load.ReportRange.from_args(request.args, timezone, today)
    comparison = stage_load.compare(chosen)
    previous = comparison.previous
    surveys = survey_figures.survey_figures(chosen)
    return schemas.StageLoad(
        from_=chosen.first_day,
        to=chosen.last_day,
        timezone=timezone,
        rows=surveys.with_rows(comparison.current.rows()),
        previous_from=previous.range.first_day,
        previous_to=previous.range.last_day,
        previous=survey_figures.survey_figures(previous.range).with_rows(previous.rows()),
        hot_spots=[HotSpot.of(spot) for spot in comparison.hot_spots()],
        survey_trend=survey_schemas.trend_of(surveys),
        survey_follow_ups=survey_schemas.follow_ups_of(surveys),
    )


def _write_message(
    ticket_id: int, write: Callable[[Ticket, User, Any], Message]
) -> tuple[schemas.Message, int]:
    ticket = ticket_or_404(ticket_id)
    body = request.context.json or request.context.form
    user = api_user()
    seen = body.seen_message_id
    if seen is not None and not body.confirm:
        newer = versions.newer_messages(ticket, seen, user)
        if newer:
            raise ApiError(
                409,
                "newer-messages",
                f"{len(newer)} message(s) came after message {seen}: read them, then send "
                'again with "confirm": true (or a newer seen_message_id)',
                {"messages": [_json(schemas.Message, message) for message in newer]},
            )
    message = write(ticket, user, body)
    db.session.commit()
    return schemas.Message.model_validate(message), 201


def _json(schema: type[schemas.Response], row: Any) -> dict[str, Any]:
    return schema.model_validate(row).model_dump(mode="json", by_alias=True)


def _team(team_id: int | None) -> Team | None:
    return referenced(Team, team_id, "team")


def _assignee(user_id: int | None) -> User | None:
    return referenced(User, user_id, "user")
