"""The API's shapes, once: each model validates a request or builds a response, and the OpenAPI
document is generated from the same models."""

from __future__ import annotations

from datetime import UTC, date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from werkzeug.datastructures import FileStorage

from channels.base import Channel
from helpdesk.models import (
    AssignmentMode,
    DeliveryState,
    Direction,
    IdentityKind,
    Priority,
    Stage,
    StageSource,
    TicketStatus,
)
from helpdesk.models import Customer as CustomerRow
from helpdesk.models import Ticket as TicketRow
from helpdesk.tickets import service
from helpdesk.tickets.bins import Bin
from helpdesk.tickets.bulk import MAX_TICKETS as MAX_BULK
from helpdesk.tickets.queries import DEFAULT_LIMIT, MAX_LIMIT, QueueSort, Trait
from helpdesk.web.api.dashboard_schemas import HotSpot
from helpdesk.web.api.survey_schemas import SurveyFollowUps, SurveyTrendPoint

# ISO 8601 in UTC with a ``Z``, whatever zone the database handed back.
Timestamp = Annotated[AwareDatetime, AfterValidator(lambda value: value.astimezone(UTC))]
# Ids are positive and fit the databases' 32-bit integer columns; a larger number is bad input,
# not a query the database refuses.
MAX_ID = 2**31 - 1
RowId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


class Response(BaseModel):
    """A response shape, built from the ORM objects' attributes."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, serialize_by_alias=True)


class Request(BaseModel):
    """A request body: a field the API does not know is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


def change(description: str | None = None, **constraints: Any) -> Any:
    """A field of a partial change: left out means unchanged, so the document shows no default
    (and null is refused unless the field's type takes it)."""
    return Field(
        None,
        description=description,
        json_schema_extra=lambda schema: schema.pop("default", None),
        **constraints,
    )


# --- errors ----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(
        description="What went wrong, for programs: `invalid` (400: bad input; "
        "`details.fields` names the parameters or body fields at fault), `too_many` (400), "
        "`unauthorized` (401), `forbidden` and `insufficient-scope` (403), `not_found` (404), "
        "`newer-messages` and `refused` (409: a merge or split the rules refuse), `opted-out` "
        "(409: the recipient opted out of outreach), `stale` (412), `invalid_input` and "
        "`refused` (422), `rate-limited` (429)."
    )
    message: str = Field(description="What went wrong, for people; names the fields at fault.")
    details: dict[str, Any] | None = Field(
        None,
        description="Only where the caller needs more to decide, e.g. the `fields` of an "
        "`invalid` request or the newer `messages` of a `newer-messages` refusal.",
    )


class Error(BaseModel):
    """Every failure answers this shape with its HTTP status."""

    error: ErrorDetail


# --- responses -------------------------------------------------------------------------------


class User(Response):
    id: int
    name: str
    email: str = Field(json_schema_extra={"format": "email"})


class CustomerRef(Response):
    id: int
    name: str = Field(validation_alias="display_name")


class TicketRef(Response):
    id: int
    number: int


class TeamRef(Response):
    id: int
    name: str


class Team(TeamRef):
    """A team of agents and how it hands out its new tickets."""

    assignment: AssignmentMode = Field(
        description="`off`: tickets wait in the team until someone takes them; `round_robin`: "
        "to the assignable member given one longest ago; `least_open`: to the assignable member "
        "with the fewest new and open tickets."
    )
    capacity: int = Field(description="Most new and open tickets per agent for auto-assignment.")
    return_unanswered_when_away: bool = Field(
        description="When a member goes away, their tickets without an agent reply yet go back "
        "to the team."
    )
    members: list[User]


class TeamPage(BaseModel):
    """Every team, by name."""

    items: list[Team]
    next_cursor: None = Field(None, description="Always null: every team is on this one page.")


class Identity(Response):
    id: int
    kind: IdentityKind
    value: str
    verified: bool = Field(
        description="False for an address only claimed (typed into the chat), not proven by a "
        "message from it, a host-site signature or an emailed link."
    )
    opted_out_at: Timestamp | None = Field(
        description="Phone numbers: when the customer texted STOP; null when textable."
    )
    opt_out_reason: str | None = Field(description="Why, e.g. 'texted STOP'.")


class Attachment(Response):
    id: int
    filename: str
    content_type: str
    size: int | None = Field(description="Null until stored.")
    stored: bool = Field(description="False while an MMS item still waits to be fetched.")
    fetch_error: str | None = Field(description="Why fetching it failed so far.")
    content_id: str | None = Field(description="What `cid:` in the HTML refers to.")
    inline: bool


class Message(Response):
    """A customer message (inbound), an agent reply (outbound) or an internal note."""

    id: int
    direction: Direction
    channel: Channel
    author: User | None
    sender: str | None
    recipient: str | None
    text: str
    folded_text: str | None = Field(description="Email: quoted history and signature, folded away.")
    html: str | None = Field(description="Sanitised; remote images blocked.")
    auto_submitted: bool
    external_id: str | None
    delivery_state: DeliveryState | None
    error_code: str | None
    error_text: str | None
    thread_reason: str | None = Field(description="Why the message landed on this ticket.")
    from_outsider: bool = Field(
        description="An email that answered one of the ticket's mails (by Message-ID) from "
        "someone not on the ticket: not its customer, a Cc or an agent. Kept on the ticket; "
        "replies never go to its sender unless an agent adds them to the Cc."
    )
    created_at: Timestamp
    attachments: list[Attachment]


class Event(Response):
    """One entry of the ticket's audit trail."""

    kind: str = Field(description="created, status, reopened, priority, stage, assignee, …")
    actor: User | None
    from_: str | None = Field(alias="from", validation_alias="from_value")
    to: str | None = Field(validation_alias="to_value")
    created_at: Timestamp


class TicketSummary(Response):
    """The ticket as lists show it."""

    id: int
    number: int = Field(description="The human ticket number, as in `[#N]`.")
    subject: str
    status: TicketStatus
    priority: Priority
    channel: Channel
    stage: Stage
    stage_source: StageSource
    proactive: bool = Field(
        description="Started by us (outreach), not by the customer; reports count these apart."
    )
    customer: CustomerRef
    assignee: User | None
    team: TeamRef | None
    created_at: Timestamp
    updated_at: Timestamp
    tags: list[str] = Field(description="The ticket's tags, by name.")
    cc: list[str] = Field(
        description="Email: the other people on the conversation, copied on replies."
    )
    version: int = Field(
        description="Up by one with every committed change to the ticket (a property, a "
        'message or note), by anyone; the `ETag` is `"<id>-<version>"`.'
    )
    merged_into: int | None = Field(
        validation_alias="merged_into_id",
        description="The id of the ticket this one was merged into (it stays closed; its "
        "conversation lives there now), or null.",
    )
    split_from: int | None = Field(
        validation_alias="split_from_id",
        description="The id of the ticket this one was split off, or null.",
    )
    spam: bool = Field(
        validation_alias="is_spam",
        description="Marked as spam: left out of the lists (but `in=spam`) and the reports.",
    )
    deleted_at: Timestamp | None = Field(
        description="When it was deleted (only admins see a deleted ticket; it is purged 30 "
        "days later), or null."
    )

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_names(cls, tags: Any) -> Any:
        return [getattr(tag, "name", tag) for tag in tags]


class Customer(Response):
    """The customer as lists show them."""

    id: int
    name: str = Field(
        validation_alias="display_name",
        description="The customer's name, or their first identity when unknown.",
    )
    created_at: Timestamp
    identities: list[Identity]


class CustomerDetail(Customer):
    """The customer with every ticket of theirs, newest first."""

    notes: str | None = Field(description="The team's notes on the customer.")
    version: int = Field(
        description="Up by one with every change of name or notes (and a merge); send it back "
        "as `version` in a `PATCH`."
    )
    tickets: list[TicketSummary]

    @classmethod
    def of(cls, customer: CustomerRow, tickets: list[TicketRow]) -> CustomerDetail:
        """The customer with the tickets a query found for them."""
        return cls(
            **dict(Customer.model_validate(customer)),
            notes=customer.notes,
            version=customer.version,
            tickets=tickets,
        )


class Ticket(TicketSummary):
    """The whole ticket: how it was tagged, its customer, messages and audit trail."""

    endpoint: str = Field(
        description="The address, number or site the request came to.",
    )
    intake_stage: Stage
    intake_rule: str | None
    stage_reason: str
    routing_rule: str | None = Field(description="The routing rule that set team or priority.")
    routing_reason: str | None = Field(description="Why routing sent the ticket where it is.")
    customer: Customer  # type: ignore[assignment]  (the whole customer, not the reference)
    previous_ticket: TicketRef | None
    first_response_at: Timestamp | None
    solved_at: Timestamp | None
    reply_blocked: str | None = Field(
        description="Why no reply can go out now (an SMS number opted out), or null."
    )
    messages: list[Message]
    events: list[Event]

    @classmethod
    def of(cls, ticket: TicketRow) -> Ticket:
        """The ticket, with the values its row does not hold as such (the links by id)."""
        computed = {
            "endpoint": ticket.endpoint.address,
            "reply_blocked": service.reply_block(ticket),
            "merged_into": ticket.merged_into_id,
            "split_from": ticket.split_from_id,
            "spam": ticket.is_spam,
        }
        by_attribute = {name: getattr(ticket, name) for name in cls.model_fields.keys() - computed}
        return cls.model_validate(by_attribute | computed)


class TicketPage(BaseModel):
    """One page of tickets."""

    items: list[TicketSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )


class CustomerPage(BaseModel):
    """One page of customers."""

    items: list[Customer]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )


class StageLoadRow(BaseModel):
    """One journey stage on one channel; calendar seconds, nearest-rank percentiles."""

    stage: Stage
    channel: Channel
    arrivals: int
    reactive_arrivals: int = Field(description="Arrivals the customer started (requests).")
    proactive_arrivals: int = Field(description="Arrivals the business started (outreach).")
    backlog: int = Field(description="Open now (new, open, pending), any date.")
    first_response_median_s: int | None
    first_response_p90_s: int | None
    resolution_median_s: int | None
    reopen_rate: float | None = Field(description="reopened / arrivals")
    sla_breach_rate: float | None = Field(description="breached / arrivals with an SLA target")
    csat: float | None = Field(description="mean of 1–5 answers")
    csat_count: int
    # Survey figures count the answers given in the range, under the stage each ticket had
    # when answered (helpdesk/reports/survey_figures.py).
    csat_percent: float | None = Field(
        description="share of 4 and 5 among the CSAT answers given in the range, in percent"
    )
    csat_responses: int = Field(description="CSAT answers given in the range")
    nps: int | None = Field(
        description="% promoters (9–10) minus % detractors (0–6) of the NPS answers given in the "
        "range, -100 to 100; null under 10 answers"
    )
    nps_responses: int = Field(description="NPS answers given in the range")


class StageLoad(BaseModel):
    """Tickets created from `from` to `to` (inclusive local dates in `timezone`), beside the
    previous period: as many days, just before `from`."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date
    timezone: str
    rows: list[StageLoadRow]
    previous_from: date
    previous_to: date
    previous: list[StageLoadRow] = Field(
        description="The same rows for the previous period (its backlog is also open now)."
    )
    hot_spots: list[HotSpot] = Field(
        description="At most three stages whose arrivals (in tickets) or SLA breach rate (in "
        "percentage points) moved most, each by its larger move, biggest first."
    )
    survey_trend: list[SurveyTrendPoint] = Field(
        description="Survey answers per day of the range (per week beyond 31 days)."
    )
    survey_follow_ups: SurveyFollowUps


class BulkRefusal(BaseModel):
    """A ticket left as it was."""

    id: int
    reason: str = Field(description="Why, e.g. a deactivated assignee, a closed ticket.")


class BulkOutcome(BaseModel):
    """What a bulk change did, ticket by ticket (ids in ascending order)."""

    changed: list[int] = Field(description="Changed; each change is one event on the ticket.")
    unchanged: list[int] = Field(description="Already as asked: nothing written.")
    refused: list[BulkRefusal] = Field(description="Left as they were, each with the reason.")


# --- requests --------------------------------------------------------------------------------


def _one_or_several(values: type) -> str:
    return "One or several, comma-separated: " + ", ".join(member.value for member in values)


def _without_null(schema: dict[str, Any]) -> None:
    # A query string or header has no null: a parameter is either sent or left out.
    for prop in schema.get("properties", {}).values():
        options = prop.pop("anyOf", None)
        if options:
            prop.update(next(option for option in options if option != {"type": "null"}))
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class Parameters(BaseModel):
    """Query-string or header parameters."""

    model_config = ConfigDict(json_schema_extra=_without_null)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_left_out(cls, values: Any) -> Any:
        # A parameter sent empty (`?sort=`) counts as left out, as it always has.
        if isinstance(values, dict):
            return {name: value for name, value in values.items() if value != ""}
        return values


class PageQuery(Parameters):
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT
    cursor: Annotated[str | None, Field(description="The `next_cursor` of the previous page.")] = (
        None
    )


class TicketFilterFields(BaseModel):
    """The queue's filters, as `GET /tickets` takes them in its query string."""

    status: str | None = Field(None, description=_one_or_several(TicketStatus))
    stage: str | None = Field(None, description=_one_or_several(Stage))
    channel: str | None = Field(None, description=_one_or_several(Channel))
    priority: str | None = Field(None, description=_one_or_several(Priority))
    assignee: str | None = Field(
        None,
        pattern=rf"^(me|none|[0-9]{{1,{len(str(MAX_ID)) - 1}}})$",
        description="`me`, `none` (unassigned) or a user id.",
    )
    team: str | None = Field(
        None,
        pattern=rf"^(mine|none|[0-9]{{1,{len(str(MAX_ID)) - 1}}})$",
        description="`mine` (any team of the token's user), `none` (no team) or a team id.",
    )
    q: str | None = Field(
        None,
        description="Search terms, all of which must match. A word matches a whole word of the "
        "subject or a message's text (case is ignored, accents are not, punctuation only "
        "separates words); `refu*` matches words starting with `refu` (2 characters at least); "
        "a number or `#number` also matches the ticket with that number; an email address or a "
        "phone number in any common format (`+1 (555) 010-1234`; national numbers in "
        "`HELPDESK_PHONE_REGION`) also matches every ticket of the customer holding it.",
    )
    created_from: Annotated[
        date | None,
        Field(description="Created on or after this date in the helpdesk's time zone."),
    ] = None
    created_to: Annotated[
        date | None,
        Field(description="Created on or before this date in the helpdesk's time zone."),
    ] = None
    tag: str | None = Field(
        None,
        description="Only tickets with any of these tags, comma-separated (case and spaces do "
        "not matter: `Beta tester` is `beta-tester`).",
    )
    has: str | None = Field(
        None,
        description="Only tickets with every one of these, comma-separated: "
        f"{', '.join(trait.value for trait in Trait)}. first_response: answered; resolution: "
        "solved; reopen: reopened at least once; csat: answered the satisfaction question; "
        "reported: not merged into another ticket, not spam, not deleted (what the stage "
        "report counts); reactive: "
        "started by the customer; proactive: started by the business (outreach); follow_up: "
        "flagged by an unhappy survey answer and not followed up yet.",
    )


class TicketQuery(PageQuery, TicketFilterFields):
    sort: Annotated[
        Literal[tuple(sort.value for sort in QueueSort)],  # type: ignore[valid-type]
        Field(
            description="`newest` (default): most recently created first. `waiting`: the "
            "customer whose latest message is oldest first; tickets without a customer message "
            "last. `priority`: urgent to low, newest first within. `due`: the next SLA deadline "
            "soonest first, then tickets without one. A cursor only continues the sort it came "
            "from."
        ),
    ] = QueueSort.NEWEST.value
    in_: Annotated[
        Literal[tuple(place.value for place in Bin)] | None,  # type: ignore[valid-type]
        Field(
            alias="in",
            description="`active` (default): tickets neither spam nor deleted. `spam`: the "
            "tickets marked as spam (not deleted). `trash`: deleted tickets, restorable until "
            "they are purged 30 days after deletion (admins only; 403 `forbidden` otherwise).",
        ),
    ] = None


class CustomerQuery(PageQuery):
    q: str | None = Field(
        None,
        description="Terms that must all match: part of the name or of an email address, "
        "phone number or other identity, or a whole phone number in any common format "
        "(`+1 (555) 010-1234`; national numbers in `HELPDESK_PHONE_REGION`).",
    )


class StageLoadQuery(Parameters):
    from_: Annotated[
        date | None,
        Field(alias="from", description="First day (default: 29 days before `to`)."),
    ] = None
    to: Annotated[date | None, Field(description="Last day, inclusive (default: today).")] = None
    channel: Annotated[Channel | None, Field(description="Only this channel.")] = None
    agent: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="Only tickets assigned to this user id.")
    ] = None
    team: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="Only tickets of this team id.")
    ] = None
    source: Annotated[
        Literal["reactive", "proactive"] | None,
        Field(
            description="Only tickets the customer started (`reactive`) or the business "
            "started (`proactive`)."
        ),
    ] = None


class TicketHeaders(Parameters):
    if_match: str | None = Field(
        None,
        alias="If-Match",
        description="The `ETag` of the ticket as the caller last read it. When the ticket has "
        "changed since (any change, by anyone), nothing is applied: 412 `stale`. Without it "
        "the change applies whatever happened meanwhile.",
    )


def values_of(enum: type, *, or_null: bool = False) -> Any:
    """A field's schema listing the values of ``enum`` (and null with ``or_null``); left out
    means unchanged."""

    def describe(schema: dict[str, Any]) -> None:
        # The ticket rules judge the value (422 `invalid_input`); the document lists what they
        # take. Left out is not null: the default only means "unchanged".
        schema["enum"] = [member.value for member in enum] + ([None] if or_null else [])
        schema.pop("default", None)

    return describe


class TicketChanges(Request):
    """Only the fields sent are written; the others stay as they are, whoever changed them."""

    status: StrictStr = Field(None, json_schema_extra=values_of(TicketStatus))
    priority: StrictStr = Field(None, json_schema_extra=values_of(Priority))
    stage: StrictStr = Field(None, json_schema_extra=values_of(Stage))
    assignee: RowId | None = Field(None, description="An active user's id, or null to unassign.")
    team: RowId | None = Field(
        None,
        description="A team's id, or null for none. An assignee outside the new team is "
        "cleared. Routing leaves a team set here alone from then on.",
    )
    tags: list[StrictStr] = Field(
        None,
        # Left out is not null: the default only means "unchanged".
        json_schema_extra=lambda schema: schema.pop("default", None),
        description="The ticket's tags from now on: those missing are added (made on first "
        "use), the others taken off, each change audited. Names as the `tag` filter takes them.",
    )


class BulkFilter(Request, TicketFilterFields):
    """The tickets a bulk change takes: those the same query on `GET /tickets` lists."""


class BulkChanges(Request):
    """What to do to every ticket; a field left out changes nothing."""

    status: StrictStr = Field(None, json_schema_extra=values_of(TicketStatus))
    priority: StrictStr = Field(None, json_schema_extra=values_of(Priority))
    stage: StrictStr = Field(None, json_schema_extra=values_of(Stage))
    assignee: RowId | None = Field(None, description="An active user's id, or null to unassign.")
    team: RowId | None = Field(
        None,
        description="A team's id, or null for none; an assignee outside the new team is cleared.",
    )
    tags_add: list[StrictStr] = Field([], description="Tags to put on each ticket.")
    tags_remove: list[StrictStr] = Field([], description="Tags to take off each ticket.")
    macro: RowId = Field(
        None,
        json_schema_extra=lambda schema: schema.pop("default", None),
        description="A macro the token's user may apply, made after the fields above. Its "
        "ticket changes only: a macro with a reply text is refused (422), since bulk changes "
        "send no replies.",
    )
    merge_into: RowId = Field(
        None,
        json_schema_extra=lambda schema: schema.pop("default", None),
        description="Last of all, merge every ticket into this ticket id (the ticket itself, "
        "if among them, stays as it is); each refusal is given per ticket.",
    )
    spam: StrictBool = Field(
        None,
        json_schema_extra=lambda schema: schema.pop("default", None),
        description="`true` marks every ticket as spam, `false` takes the mark off.",
    )
    deleted: Literal[True] = Field(
        None,
        json_schema_extra=lambda schema: schema.pop("default", None),
        description="`true` moves every ticket to the trash (managers and admins; 403 "
        "otherwise). Restoring is one ticket at a time, by an admin.",
    )


class BulkRequest(Request):
    """Either `ids` or `filter`, and the `changes`."""

    ids: list[RowId] | None = Field(
        None, description=f"The tickets to change, at most {MAX_BULK:,}.", max_length=MAX_BULK
    )
    filter: BulkFilter | None = Field(
        None,
        description=f"Change every ticket matching these filters; more than {MAX_BULK:,} "
        "matches is refused (400 `too_many`) and nothing changes.",
    )
    changes: BulkChanges

    @model_validator(mode="after")
    def _one_target(self) -> BulkRequest:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("send either ids or filter")
        if not self.changes.model_fields_set:
            raise ValueError("changes: name at least one change")
        return self


class MessageText(Request):
    """A reply or a note."""

    text: StrictStr = Field(
        "", description="What to send; an empty text is refused with 422 `invalid_input`."
    )
    seen_message_id: RowId | None = Field(
        None,
        description="The newest message the writer has read. When a customer message, or "
        "another person's reply or note, came after it, nothing is sent: 409 "
        "`newer-messages` lists them. Leave out to skip the check.",
    )
    confirm: StrictBool = Field(
        False, description="Send even if newer messages came after `seen_message_id`."
    )


class ReplyText(MessageText):
    """A public reply."""

    cc: list[StrictStr] = Field(
        None,
        # Left out is not null: the default only means "the ticket's Cc".
        json_schema_extra=lambda schema: schema.pop("default", None),
        description="Email: whom the reply copies; left out, the ticket's `cc`. Given, it "
        "becomes the ticket's `cc` (an empty list takes everyone off).",
    )


def _uploaded(value: Any) -> FileStorage:
    if not isinstance(value, FileStorage):
        raise ValueError("must be a file")
    return value


UploadedFile = Annotated[
    Any, PlainValidator(_uploaded), WithJsonSchema({"type": "string", "format": "binary"})
]


def _as_list(value: Any) -> Any:
    # A form field sent once arrives as one value, sent several times as a list.
    return value if isinstance(value, list) else [value]


class ReplyForm(Request):
    """A public reply with files, as ``multipart/form-data``: the fields of the JSON body, and
    ``files`` once per file."""

    text: StrictStr = Field("", description="What to send.")
    seen_message_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        None, description="As in the JSON body."
    )
    confirm: bool = Field(False, description="As in the JSON body.")
    cc: StrictStr | None = Field(
        None,
        description="Email: whom the reply copies, addresses separated by commas; left out, "
        "the ticket's `cc`.",
    )
    files: Annotated[list[UploadedFile], BeforeValidator(_as_list)] = Field(
        [],
        description="The files to send: email 25 MB, SMS 5 MB and 10 files (as MMS), chat "
        "10 MB, all together; over the limit is 422 `invalid_input`.",
    )


class MergeInto(Request):
    """Which ticket to merge into."""

    into: RowId = Field(description="The id of the ticket that takes the conversation.")


class SplitAt(Request):
    """Where to split."""

    message_id: RowId = Field(
        description="The first message of the new ticket; it and every later message move."
    )
