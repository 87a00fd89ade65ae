"""The API's shapes for the routing rules."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictStr

from channels.base import Channel
from helpdesk.models import Priority, Stage
from helpdesk.web.api.schemas import Request, Response, RowId, TeamRef, Timestamp, change

_POSITION = (
    "The rule's place in the order, 1 for the rule tried first; a number past the end puts "
    "it last, and the rules after it move down one."
)
_TEAM = "The team it routes to, by id; null for none. A rule sets a team, a priority or both."
_GIVES = "The priority it gives: " + ", ".join(f"`{p.value}`" for p in Priority) + "; null: none."


def _one_of(enum: type) -> str:
    return "One of " + ", ".join(f"`{member.value}`" for member in enum) + "."


class RoutingConditions(Request):
    """What a ticket must have for the rule to route it: every condition set, none for null."""

    intake_stage: StrictStr | None = Field(
        None, description="The stage it arrived with. " + _one_of(Stage)
    )
    stage: StrictStr | None = Field(None, description="Its stage now. " + _one_of(Stage))
    channel: StrictStr | None = Field(None, description=_one_of(Channel))
    endpoint: StrictStr | None = Field(
        None, description="The mailbox, number or chat site it arrived at (with `channel`)."
    )
    tag: StrictStr | None = None
    priority: StrictStr | None = Field(None, description=_one_of(Priority))
    subject_words: StrictStr | None = Field(
        None, description="Words or phrases separated by commas; any one in the subject will do."
    )


class RoutingRule(Response):
    """One routing rule: the first active rule whose conditions all hold sets team, priority."""

    id: int
    name: str = Field(description="Unique; tickets remember the rule that routed them by it.")
    position: int = Field(description="Its place in the order, 1 for the rule tried first.")
    active: bool = Field(description="False: skipped, keeping its place and counts.")
    conditions: RoutingConditions
    team: TeamRef | None = Field(description="The team it routes to.")
    gives_priority: Priority | None = Field(description="The priority it gives.")
    routed: int = Field(description="Tickets it routed, as they stand now.")
    recent: int = Field(description="Of those, how many were created in the last 30 days.")
    created_at: Timestamp


class RoutingRulePage(Response):
    """Every routing rule, in the order they are tried."""

    items: list[RoutingRule]
    next_cursor: None = Field(None, description="Always null: every rule is on this one page.")


class NewRoutingRule(Request):
    """A new active rule, tried last unless `position` says otherwise."""

    name: StrictStr
    conditions: RoutingConditions = Field(
        default_factory=RoutingConditions, description="None set: the rule routes every ticket."
    )
    team: RowId | None = Field(None, description=_TEAM)
    gives_priority: StrictStr | None = Field(None, description=_GIVES)
    position: RowId | None = Field(None, description=_POSITION)


class RoutingRuleChanges(Request):
    """Only the fields sent are written; the name stays (tickets remember rules by it)."""

    conditions: RoutingConditions = change(
        "The rule's conditions from now on, as a whole: those left out are unset."
    )
    team: RowId | None = change(_TEAM)
    gives_priority: StrictStr | None = change(_GIVES)
    active: StrictBool = change("False: skipped, keeping its place and counts.")
    position: RowId = change(_POSITION)
