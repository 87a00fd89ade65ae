"""API views: parse the request, call the ticket service, commit once, serialize."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify, request
from sqlalchemy.orm import selectinload

from helpdesk.extensions import db
from helpdesk.models import Customer, Message, Role, StageSource, Ticket, User
from helpdesk.reports import stage_load
from helpdesk.tickets import queries, service, versions
from helpdesk.tickets.errors import InvalidInput
from helpdesk.web.api import bp, openapi
from helpdesk.web.api import serializers as out
from helpdesk.web.api.auth import api_user
from helpdesk.web.api.errors import ApiError

TICKET_CHANGES = frozenset({"status", "priority", "stage", "assignee"})
MESSAGE_FIELDS = frozenset({"text", "seen_message_id", "confirm"})


@bp.get("/openapi.json")
def openapi_json() -> out.Json:
    return openapi.document()


@bp.get("/tickets")
def list_tickets() -> out.Json:
    filters = queries.TicketFilter.from_args(
        request.args, me=api_user().id, timezone=current_app.config["HELPDESK_TIMEZONE"]
    )
    page = queries.ticket_page(
        filters,
        queries.parse_limit(request.args.get("limit")),
        request.args.get("cursor"),
        queries.parse_sort(request.args.get("sort")),
    )
    return out.page_json(page, out.ticket_summary)


@bp.get("/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int) -> Response:
    return _with_etag(_ticket(ticket_id))


@bp.patch("/tickets/<int:ticket_id>")
def update_ticket(ticket_id: int) -> Response:
    ticket = _ticket(ticket_id)
    changes = _json_body(TICKET_CHANGES)
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
    if "status" in changes:
        service.set_status(ticket, user, _string(changes, "status"))
    if "priority" in changes:
        service.set_priority(ticket, user, _string(changes, "priority"))
    if "stage" in changes:
        service.set_stage(ticket, user, _string(changes, "stage"), source=StageSource.API)
    if "assignee" in changes:
        service.assign(ticket, user, _assignee(changes["assignee"]))
    db.session.commit()
    return _with_etag(ticket)


@bp.post("/tickets/<int:ticket_id>/replies")
def create_reply(ticket_id: int) -> tuple[out.Json, int]:
    return _write_message(ticket_id, service.reply)


@bp.post("/tickets/<int:ticket_id>/notes")
def create_note(ticket_id: int) -> tuple[out.Json, int]:
    return _write_message(ticket_id, service.add_note)


@bp.get("/customers")
def list_customers() -> out.Json:
    page = queries.customer_page(
        request.args.get("q", ""),
        queries.parse_limit(request.args.get("limit")),
        request.args.get("cursor"),
    )
    return out.page_json(page, out.customer_summary)


@bp.get("/customers/<int:customer_id>")
def get_customer(customer_id: int) -> out.Json:
    customer = db.session.get(Customer, customer_id, options=[selectinload(Customer.identities)])
    if customer is None:
        raise ApiError(404, "not_found", f"no customer with id {customer_id}")
    return out.customer_detail(customer, queries.customer_tickets(customer.id))


def _ticket(ticket_id: int) -> Ticket:
    ticket = queries.ticket_with_thread(ticket_id)
    if ticket is None:
        raise ApiError(404, "not_found", f"no ticket with id {ticket_id}")
    return ticket


def _with_etag(ticket: Ticket) -> Response:
    response = jsonify(out.ticket_detail(ticket))
    response.set_etag(versions.etag(ticket))
    return response


def _write_message(
    ticket_id: int, write: Callable[[Ticket, User, str], Message]
) -> tuple[out.Json, int]:
    ticket = _ticket(ticket_id)
    body = _json_body(MESSAGE_FIELDS)
    seen = body.get("seen_message_id")
    if seen is not None and (isinstance(seen, bool) or not isinstance(seen, int)):
        raise ApiError(400, "invalid_field", "seen_message_id must be a message id")
    if not isinstance(body.get("confirm", False), bool):
        raise ApiError(400, "invalid_field", "confirm must be true or false")
    user = api_user()
    if seen is not None and not body.get("confirm"):
        newer = versions.newer_messages(ticket, seen, user)
        if newer:
            raise ApiError(
                409,
                "newer-messages",
                f"{len(newer)} message(s) came after message {seen}: read them, then send "
                'again with "confirm": true (or a newer seen_message_id)',
                {"messages": [out.message_json(message) for message in newer]},
            )
    message = write(ticket, user, _string(body, "text"))
    db.session.commit()
    return out.message_json(message), 201


def _json_body(allowed: frozenset[str]) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(
            400, "invalid_body", "send a JSON object with Content-Type: application/json"
        )
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(
            400,
            "unknown_field",
            f"unknown field {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
        )
    return body


def _string(body: dict[str, Any], field: str) -> str:
    # A missing text is the service's call (it refuses empty text); a wrong type is bad input.
    value = body.get(field, "")
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"{field} must be a string")
    return value


def _assignee(value: Any) -> User | None:
    if value is None:
        return None
    # bool is an int in Python, but true is no user id.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "invalid_field", "assignee must be a user id or null")
    user = db.session.get(User, value)
    if user is None:
        raise InvalidInput(f"no user with id {value}")
    return user


@bp.get("/reports/stage-load")
def stage_load_report() -> out.Json:
    if api_user().role not in (Role.MANAGER, Role.ADMIN):
        raise ApiError(403, "forbidden", "reports are for managers and admins")
    timezone = current_app.config["HELPDESK_TIMEZONE"]
    today = datetime.now(ZoneInfo(timezone)).date()
    load = stage_load.stage_load(stage_load.ReportRange.from_args(request.args, timezone, today))
    return {
        "from": load.range.first_day.isoformat(),
        "to": load.range.last_day.isoformat(),
        "timezone": timezone,
        "rows": load.rows(),
    }
