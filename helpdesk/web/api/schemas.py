"""The API's shapes, once: each model validates a request or builds a response, and the OpenAPI
document is generated from the same models. Here: the shared types, errors and the response
shapes; query parameters are in query_schemas.py, the bodies that change tickets in
change_schemas.py, and each other resource's shapes beside it (macro_schemas.py, …)."""

from __future__ import annotations

from datetime import UTC, date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
)

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
