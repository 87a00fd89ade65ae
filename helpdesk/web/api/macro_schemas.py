"""The API's shapes for macros: a macro, the list, a new one, a change, and applying one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictStr

from helpdesk.models import Priority, Stage, TicketStatus
from helpdesk.tickets import macros
from helpdesk.web.api.change_schemas import values_of
from helpdesk.web.api.schemas import (
    Message,
    Request,
    Response,
    RowId,
    Ticket,
    Timestamp,
    User,
)

PLACEHOLDERS = ", ".join(f"`{{{{ {name} }}}}`" for name in macros.PLACEHOLDERS)


def _changed_only(schema: dict[str, Any]) -> None:
    # Left out is not null: the default only means "unchanged".
    schema.pop("default", None)


class Macro(Response):
    """A reply text with placeholders and the ticket changes that go with it."""

    id: int
    name: str
    text: str = Field(description=f"Placeholders, filled in when applied: {PLACEHOLDERS}.")
    shared: bool = Field(description="Kept by admins for everyone; else the token user's own.")
    status: TicketStatus | None = Field(description="Set on the ticket; null leaves it.")
    priority: Priority | None = Field(description="Set on the ticket; null leaves it.")
    stage: Stage | None = Field(description="Set on the ticket; null leaves it.")
    assignee: User | None = Field(description="Given the ticket; null leaves it.")
    tags: list[str] = Field(description="Added to the ticket.")
    use_count: int = Field(description="How often it was applied.")
    created_at: Timestamp


class MacroPage(BaseModel):
    """Every macro the token's user may apply: the shared ones and their own, by name."""

    items: list[Macro]
    next_cursor: None = Field(
        None, description="Always null: every macro the user may apply is on this one page."
    )


class AppliedMacro(BaseModel):
    """What applying a macro did."""

    text: str = Field(description="The macro text filled in for this ticket.")
    message: Message | None = Field(
        description='The queued reply with `"send": true`; null otherwise.'
    )
    ticket: Ticket = Field(description="The ticket with the macro's changes.")


class NewMacro(Request):
    """A macro; each action left out changes nothing when it is applied."""

    name: StrictStr
    text: StrictStr = Field(
        "",
        description=f"The reply text; a placeholder other than {PLACEHOLDERS} is refused with "
        "422 `invalid_input`.",
    )
    status: StrictStr = Field(None, json_schema_extra=values_of(TicketStatus))
    priority: StrictStr = Field(None, json_schema_extra=values_of(Priority))
    stage: StrictStr = Field(None, json_schema_extra=values_of(Stage))
    assignee: RowId | None = Field(None, description="An active user's id to give the ticket.")
    tags: list[StrictStr] = Field([], description="Tags to add to the ticket.")
    shared: StrictBool = Field(
        False, description="For everyone (admins only, else 403); else the token user's own."
    )


class MacroChanges(Request):
    """Only the fields sent change; null takes an action off (applying leaves that property)."""

    name: StrictStr = Field(None, json_schema_extra=_changed_only)
    text: StrictStr = Field(
        None,
        json_schema_extra=_changed_only,
        description=f"The reply text; placeholders {PLACEHOLDERS}.",
    )
    status: StrictStr | None = Field(None, json_schema_extra=values_of(TicketStatus, or_null=True))
    priority: StrictStr | None = Field(None, json_schema_extra=values_of(Priority, or_null=True))
    stage: StrictStr | None = Field(None, json_schema_extra=values_of(Stage, or_null=True))
    assignee: RowId | None = Field(
        None, json_schema_extra=_changed_only, description="An active user's id, or null."
    )
    tags: list[StrictStr] = Field(
        None, json_schema_extra=_changed_only, description="The tags it adds from now on."
    )


class MacroUse(Request):
    """How to apply a macro; an empty body is `{}`."""

    send: StrictBool = Field(
        False, description="Also queue the filled-in text as a public reply to the customer."
    )
