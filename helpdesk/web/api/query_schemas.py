"""The API's query-string and header parameters: paging, the queue's filters, the stage
report's range and filters, and a ticket's `If-Match`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from channels.base import Channel
from helpdesk.models import Priority, Stage, TicketStatus
from helpdesk.tickets.bins import Bin
from helpdesk.tickets.queries import DEFAULT_LIMIT, MAX_LIMIT, QueueSort, Trait
from helpdesk.web.api.schemas import MAX_ID


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
