"""The API's shapes for the stage rules and the endpoints' default stages."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictStr

from channels.base import Channel
from helpdesk.models import Stage
from helpdesk.web.api.schemas import Request, Response, RowId, Timestamp, change

_POSITION = (
    "The rule's place in the order, 1 for the rule tried first; a number past the end puts "
    "it last, and the rules after it move down one."
)
_STAGE = "The stage its requests get; any stage but `unknown`."


class StageConditions(Request):
    """What a request must have for the rule to match: every condition set, none for null."""

    channel: StrictStr | None = Field(
        None, description="One of " + ", ".join(f"`{c.value}`" for c in Channel) + "."
    )
    endpoint: StrictStr | None = Field(
        None, description="The mailbox, number or chat site it arrived at."
    )
    recipient: StrictStr | None = Field(
        None, description="The address or alias it was sent to (email)."
    )
    first_word: StrictStr | None = Field(
        None, description="The message's first word, one word (SMS), any case."
    )
    url_pattern: StrictStr | None = Field(
        None, description="The chat page's URL, `*` for anything (`*/pricing*`)."
    )
    utm_source: StrictStr | None = None
    utm_medium: StrictStr | None = None
    utm_campaign: StrictStr | None = None
    keyword: StrictStr | None = Field(None, description="A word in the subject or text.")


class StageRule(Response):
    """One rule of the stage engine: the first enabled rule whose conditions all hold wins."""

    id: int
    name: str = Field(description="Unique; tickets remember the rule that decided them by it.")
    position: int = Field(description="Its place in the order, 1 for the rule tried first.")
    stage: Stage
    enabled: bool = Field(description="False: skipped, keeping its place and history.")
    conditions: StageConditions
    decided: int = Field(description="Tickets it decided at intake.")
    corrected: int = Field(description="Of those, how many an agent corrected since.")
    created_at: Timestamp


class StageRulePage(Response):
    """Every stage rule, in the order the engine tries them."""

    items: list[StageRule]
    next_cursor: None = Field(None, description="Always null: every rule is on this one page.")


class NewStageRule(Request):
    """A new rule, tried last unless `position` says otherwise."""

    name: StrictStr
    stage: Stage = Field(description=_STAGE)
    conditions: StageConditions = Field(
        default_factory=StageConditions, description="None set: the rule matches every request."
    )
    enabled: StrictBool = True
    position: RowId | None = Field(None, description=_POSITION)


class StageRuleChanges(Request):
    """Only the fields sent are written; the name stays (tickets remember rules by it)."""

    stage: Stage = change(_STAGE)
    conditions: StageConditions = change(
        "The rule's conditions from now on, as a whole: those left out are unset."
    )
    enabled: StrictBool = change("False: skipped, keeping its place.")
    position: RowId = change(_POSITION)


class Endpoint(Response):
    """A mailbox, SMS number or chat site, registered when its first message arrived."""

    id: int
    channel: Channel
    address: str
    name: str | None
    default_stage: Stage | None = Field(
        description="The stage its requests get when no rule matches; null: `unknown`."
    )


class EndpointPage(Response):
    """Every endpoint, by channel and address."""

    items: list[Endpoint]
    next_cursor: None = Field(None, description="Always null: every endpoint is on this page.")


class DefaultStage(Request):
    """The stage an endpoint's requests get when no rule matches."""

    stage: Stage = Field(description="`unknown` clears the default.")
