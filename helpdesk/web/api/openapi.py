"""The OpenAPI 3.1 document of /api/v1, written by hand next to the views it describes."""

from __future__ import annotations

from typing import Any

from channels.base import Channel
from helpdesk.models import (
    DeliveryState,
    Direction,
    IdentityKind,
    Priority,
    Stage,
    StageSource,
    TicketStatus,
)
from helpdesk.tickets.queries import DEFAULT_LIMIT, MAX_LIMIT, QueueSort

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def _string(nullable: bool = False, **extra: Any) -> Schema:
    return {"type": ["string", "null"] if nullable else "string", **extra}


def _enum(enum: type, nullable: bool = False) -> Schema:
    values: list[Any] = [member.value for member in enum]
    if nullable:
        return {"type": ["string", "null"], "enum": [*values, None]}
    return {"type": "string", "enum": values}


def _time(nullable: bool = False) -> Schema:
    return _string(nullable, format="date-time")


def _object(properties: dict[str, Schema], description: str = "") -> Schema:
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }
    if description:
        schema["description"] = description
    return schema


def _page(item: str) -> Schema:
    return _object(
        {
            "items": {"type": "array", "items": _ref(item)},
            "next_cursor": _string(
                nullable=True, description="Pass as `cursor` for the next page; null on the last."
            ),
        }
    )


_INTEGER = {"type": "integer"}

_TICKET_SUMMARY = {
    "id": _INTEGER,
    "number": {"type": "integer", "description": "The human ticket number, as in `[#N]`."},
    "subject": _string(),
    "status": _enum(TicketStatus),
    "priority": _enum(Priority),
    "channel": _enum(Channel),
    "stage": _enum(Stage),
    "stage_source": _enum(StageSource),
    "customer": _ref("CustomerRef"),
    "assignee": _nullable(_ref("User")),
    "created_at": _time(),
    "updated_at": _time(),
    "version": {
        "type": "integer",
        "description": "Up by one with every committed change to the ticket (a property, a "
        'message or note), by anyone; the ETag is `"<id>-<version>"`.',
    },
}

_CUSTOMER = {
    "id": _INTEGER,
    "name": _string(description="The customer's name, or their first identity when unknown."),
    "created_at": _time(),
    "identities": {"type": "array", "items": _ref("Identity")},
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object(
        {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": _string(),
                    "message": _string(),
                    "details": {
                        "type": "object",
                        "description": "Only where the caller needs more to decide, e.g. the "
                        "newer `messages` of a `newer-messages` refusal.",
                    },
                },
            }
        },
        "Every failure answers this shape with its HTTP status.",
    ),
    "User": _object({"id": _INTEGER, "name": _string(), "email": _string(format="email")}),
    "CustomerRef": _object({"id": _INTEGER, "name": _string()}),
    "TicketRef": _object({"id": _INTEGER, "number": _INTEGER}),
    "Identity": _object(
        {
            "kind": _enum(IdentityKind),
            "value": _string(),
            "verified": {
                "type": "boolean",
                "description": "False for an address only claimed (typed into the chat), not "
                "proven by a message from it, a host-site signature or an emailed link.",
            },
            "opted_out_at": _time(nullable=True)
            | {"description": "Phone numbers: when the customer texted STOP; null when textable."},
            "opt_out_reason": _string(nullable=True, description="Why, e.g. 'texted STOP'."),
        }
    ),
    "Attachment": _object(
        {
            "id": _INTEGER,
            "filename": _string(),
            "content_type": _string(),
            "size": {"type": ["integer", "null"], "description": "Null until stored."},
            "stored": {
                "type": "boolean",
                "description": "False while an MMS item still waits to be fetched from Twilio.",
            },
            "fetch_error": _string(nullable=True, description="Why fetching it failed so far."),
            "content_id": _string(nullable=True, description="what `cid:` in the HTML refers to"),
            "inline": {"type": "boolean"},
        }
    ),
    "Message": _object(
        {
            "id": _INTEGER,
            "direction": _enum(Direction),
            "channel": _enum(Channel),
            "author": _nullable(_ref("User")),
            "sender": _string(nullable=True),
            "recipient": _string(nullable=True),
            "text": _string(),
            "folded_text": _string(
                nullable=True, description="email: quoted history and signature, folded away"
            ),
            "html": _string(nullable=True, description="sanitised; remote images blocked"),
            "auto_submitted": {"type": "boolean"},
            "external_id": _string(nullable=True),
            "delivery_state": _enum(DeliveryState, nullable=True),
            "error_code": _string(nullable=True),
            "error_text": _string(nullable=True),
            "thread_reason": _string(nullable=True),
            "created_at": _time(),
            "attachments": {"type": "array", "items": _ref("Attachment")},
        },
        "A customer message (inbound), an agent reply (outbound) or an internal note.",
    ),
    "Event": _object(
        {
            "kind": _string(description="created, status, reopened, priority, stage, …"),
            "actor": _nullable(_ref("User")),
            "from": _string(nullable=True),
            "to": _string(nullable=True),
            "created_at": _time(),
        },
        "One entry of the ticket's audit trail.",
    ),
    "TicketSummary": _object(_TICKET_SUMMARY),
    "Ticket": _object(
        {
            **_TICKET_SUMMARY,
            "endpoint": _string(description="The address, number or site the request came to."),
            "intake_stage": _enum(Stage),
            "intake_rule": _string(nullable=True),
            "stage_reason": _string(),
            "customer": _ref("Customer"),
            "previous_ticket": _nullable(_ref("TicketRef")),
            "first_response_at": _time(nullable=True),
            "solved_at": _time(nullable=True),
            "reply_blocked": _string(
                nullable=True,
                description="Why no reply can go out now (an SMS number opted out), or null.",
            ),
            "messages": {"type": "array", "items": _ref("Message")},
            "events": {"type": "array", "items": _ref("Event")},
        }
    ),
    "Customer": _object(_CUSTOMER),
    "CustomerDetail": _object(
        {**_CUSTOMER, "tickets": {"type": "array", "items": _ref("TicketSummary")}}
    ),
    "TicketPage": _page("TicketSummary"),
    "CustomerPage": _page("Customer"),
    "TicketChanges": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "status": _enum(TicketStatus),
            "priority": _enum(Priority),
            "stage": _enum(Stage),
            "assignee": {
                "type": ["integer", "null"],
                "description": "An active user's id, or null to unassign.",
            },
        },
    },
    "StageLoad": _object(
        {
            "from": _string(format="date"),
            "to": _string(format="date"),
            "timezone": _string(),
            "rows": {"type": "array", "items": _ref("StageLoadRow")},
        },
        "Tickets created from `from` to `to` (inclusive local dates in `timezone`).",
    ),
    "StageLoadRow": _object(
        {
            "stage": _enum(Stage),
            "channel": _enum(Channel),
            "arrivals": _INTEGER,
            "backlog": {**_INTEGER, "description": "Open now (new, open, pending), any date."},
            "first_response_median_s": _nullable(_INTEGER),
            "first_response_p90_s": _nullable(_INTEGER),
            "resolution_median_s": _nullable(_INTEGER),
            "reopen_rate": {"type": ["number", "null"], "description": "reopened / arrivals"},
            "sla_breach_rate": {
                "type": ["number", "null"],
                "description": "breached / arrivals with an SLA target",
            },
            "csat": {"type": ["number", "null"], "description": "mean of 1–5 answers"},
            "csat_count": _INTEGER,
        },
        "One journey stage on one channel; calendar seconds, nearest-rank percentiles.",
    ),
    "MessageText": {
        "type": "object",
        "additionalProperties": False,
        "required": ["text"],
        "properties": {
            "text": _string(minLength=1),
            "seen_message_id": {
                "type": "integer",
                "description": "The newest message the writer has read. When a customer "
                "message, or another person's reply or note, came after it, nothing is sent: "
                "409 `newer-messages` lists them. Leave out to skip the check.",
            },
            "confirm": {
                "type": "boolean",
                "default": False,
                "description": "Send even if newer messages came after `seen_message_id`.",
            },
        },
    },
}


def _error(description: str) -> Schema:
    return {"description": description, "content": _json(_ref("Error"))}


def _json(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


RESPONSES: dict[str, Schema] = {
    "BadRequest": _error("Bad input: a filter, cursor, date, body or field the API cannot use."),
    "Unauthorized": _error("Missing, unknown or revoked token, or a deactivated user."),
    "NotFound": _error("No such ticket or customer."),
    "Forbidden": _error("The token's user lacks the role this needs."),
    "Unprocessable": _error("The ticket rules refuse the change, e.g. an empty text."),
    "NewerMessages": _error(
        "`newer-messages`: nothing was sent, because messages came after `seen_message_id`; "
        "`error.details.messages` holds them. Read them, then send with `confirm: true`."
    ),
}

_ETAG = {
    "ETag": {
        "description": 'The ticket\'s version: `"<id>-<version>"`, for `If-Match`.',
        "schema": _string(),
    }
}


def _query(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "query", "description": description, "schema": schema or _string()}


def _list_of(enum: type, name: str) -> Schema:
    allowed = ", ".join(member.value for member in enum)
    return _query(name, f"One {name} or several, comma-separated: {allowed}.")


PARAMETERS: dict[str, Schema] = {
    "ticket_id": {"name": "ticket_id", "in": "path", "required": True, "schema": _INTEGER},
    "customer_id": {"name": "customer_id", "in": "path", "required": True, "schema": _INTEGER},
    "limit": _query(
        "limit",
        "Page size.",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    "cursor": _query("cursor", "The `next_cursor` of the previous page."),
    "if_match": {
        "name": "If-Match",
        "in": "header",
        "description": "The ETag of the ticket as the caller last read it. When the ticket has "
        "changed since (any change, by anyone), nothing is applied: 412 `stale`. Without it "
        "the change applies whatever happened meanwhile.",
        "schema": _string(),
    },
}


def _param(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


def _answer(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


def _ok(description: str, schema: str) -> Schema:
    return {"description": description, "content": _json(_ref(schema))}


def _body(schema: str) -> Schema:
    return {"required": True, "content": _json(_ref(schema))}


_TICKET_FILTERS = [
    _list_of(TicketStatus, "status"),
    _list_of(Stage, "stage"),
    _list_of(Channel, "channel"),
    _list_of(Priority, "priority"),
    _query("assignee", "`me`, `none` (unassigned) or a user id."),
    _query(
        "q",
        "Words that must each appear as a whole word in the subject or a message's text; case "
        "is ignored, accents are not, punctuation only separates words.",
    ),
    _query(
        "created_from",
        "Created on or after this date in the helpdesk's time zone (HELPDESK_TIMEZONE).",
        _string(format="date"),
    ),
    _query(
        "created_to",
        "Created on or before this date in the helpdesk's time zone (HELPDESK_TIMEZONE).",
        _string(format="date"),
    ),
    _query(
        "has",
        "Only tickets with every one of these, comma-separated: first_response (answered), "
        "resolution (solved), reopen (reopened at least once), sla_target, sla_breach, csat "
        "(answered the satisfaction question).",
    ),
]

_SORT = _query(
    "sort",
    "`newest` (default): most recently created first. `waiting`: the customer whose latest "
    "message is oldest first; tickets without a customer message last. `priority`: urgent to "
    "low, newest first within. `due`: the next SLA deadline soonest first, then tickets "
    "without one. A cursor only continues the sort it came from.",
    {**_enum(QueueSort), "default": QueueSort.NEWEST.value},
)

_WRITE_ERRORS = {
    "400": _answer("BadRequest"),
    "401": _answer("Unauthorized"),
    "404": _answer("NotFound"),
    "422": _answer("Unprocessable"),
}

PATHS: dict[str, Schema] = {
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": _json({"type": "object"}),
                }
            },
        }
    },
    "/api/v1/tickets": {
        "get": {
            "operationId": "listTickets",
            "summary": "Tickets, filtered, sorted and paginated by cursor",
            "parameters": [*_TICKET_FILTERS, _SORT, _param("limit"), _param("cursor")],
            "responses": {
                "200": _ok("One page of tickets.", "TicketPage"),
                "400": _answer("BadRequest"),
                "401": _answer("Unauthorized"),
            },
        }
    },
    "/api/v1/tickets/{ticket_id}": {
        "parameters": [_param("ticket_id")],
        "get": {
            "operationId": "getTicket",
            "summary": "A ticket with its customer, messages and audit trail",
            "responses": {
                "200": _ok("The ticket.", "Ticket") | {"headers": _ETAG},
                "401": _answer("Unauthorized"),
                "404": _answer("NotFound"),
            },
        },
        "patch": {
            "operationId": "updateTicket",
            "summary": "Change status, priority, stage or assignee; each change is audited",
            "description": "Only the fields in the body are written; the others stay as they "
            "are, whoever changed them last. A stage set here gets `stage_source` `api`; "
            "`intake_stage` stays.",
            "parameters": [_param("if_match")],
            "requestBody": _body("TicketChanges"),
            "responses": {
                "200": _ok("The updated ticket.", "Ticket") | {"headers": _ETAG},
                **_WRITE_ERRORS,
                "412": _error("`stale`: the ticket changed since the `If-Match` ETag."),
            },
        },
    },
    "/api/v1/tickets/{ticket_id}/replies": {
        "parameters": [_param("ticket_id")],
        "post": {
            "operationId": "replyToTicket",
            "summary": "Queue a public reply on the ticket's channel",
            "requestBody": _body("MessageText"),
            "responses": {
                "201": _ok("The queued outbound message.", "Message"),
                **_WRITE_ERRORS,
                "409": _answer("NewerMessages"),
            },
        },
    },
    "/api/v1/tickets/{ticket_id}/notes": {
        "parameters": [_param("ticket_id")],
        "post": {
            "operationId": "addNote",
            "summary": "Add an internal note (never sent to the customer)",
            "requestBody": _body("MessageText"),
            "responses": {
                "201": _ok("The note.", "Message"),
                **_WRITE_ERRORS,
                "409": _answer("NewerMessages"),
            },
        },
    },
    "/api/v1/customers": {
        "get": {
            "operationId": "listCustomers",
            "summary": "Customers, newest first, paginated by cursor",
            "parameters": [
                _query("q", "Words that must all appear in the name or an identity value."),
                _param("limit"),
                _param("cursor"),
            ],
            "responses": {
                "200": _ok("One page of customers.", "CustomerPage"),
                "400": _answer("BadRequest"),
                "401": _answer("Unauthorized"),
            },
        }
    },
    "/api/v1/reports/stage-load": {
        "get": {
            "operationId": "getStageLoad",
            "summary": "Service load per journey stage and channel (managers and admins)",
            "parameters": [
                _query("from", "First day (default: 29 days before `to`).", _string(format="date")),
                _query("to", "Last day, inclusive (default: today).", _string(format="date")),
                _list_of(Channel, "channel"),
                _query("agent", "Only tickets assigned to this user id."),
            ],
            "responses": {
                "200": _ok("One row per stage and channel, zeros included.", "StageLoad"),
                "400": _answer("BadRequest"),
                "401": _answer("Unauthorized"),
                "403": _answer("Forbidden"),
            },
        },
    },
    "/api/v1/customers/{customer_id}": {
        "parameters": [_param("customer_id")],
        "get": {
            "operationId": "getCustomer",
            "summary": "A customer with their identities and tickets, newest first",
            "responses": {
                "200": _ok("The customer.", "CustomerDetail"),
                "401": _answer("Unauthorized"),
                "404": _answer("NotFound"),
            },
        },
    },
}


def document() -> Schema:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Helpdesk API",
            "version": "1",
            "description": (
                "Tickets and customers of the omnichannel helpdesk. Ids are internal; tickets "
                "also carry their human `number`. Timestamps are ISO 8601 in UTC."
            ),
        },
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token minted with `helpdesk users token EMAIL`.",
                }
            },
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
        },
    }
