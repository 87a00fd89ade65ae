"""The shapes of the audit trail in the API: its filters and its events."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from helpdesk.web.api.query_schemas import PageQuery
from helpdesk.web.api.schemas import MAX_ID, Response, Timestamp, User


class AuditQuery(PageQuery):
    actor: Annotated[
        Annotated[int, Field(ge=1, le=MAX_ID)] | Literal["system"] | None,
        Field(
            description="Only what this user id did, or `system`: the CLI and the worker.",
        ),
    ] = None
    action: Annotated[
        str | None,
        Field(
            max_length=80,
            description="An action (`user.changed`), or the start of one up to a dot: `user` "
            "keeps every `user.…` action, `api` every API write.",
        ),
    ] = None
    target_type: Annotated[
        str | None,
        Field(max_length=40, description="Only events about this kind of thing, e.g. `ticket`."),
    ] = None
    target_id: Annotated[
        str | None, Field(max_length=120, description="Only events about this id of it.")
    ] = None
    from_: Annotated[
        date | None,
        Field(alias="from", description="First day, in `HELPDESK_TIMEZONE`."),
    ] = None
    to: Annotated[
        date | None, Field(description="Last day, inclusive, in `HELPDESK_TIMEZONE`.")
    ] = None

    @model_validator(mode="after")
    def _days_in_order(self) -> AuditQuery:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError("to must not be before from")
        return self


class TokenRef(Response):
    id: int
    name: str


class AuditEvent(Response):
    """Who (and with which token) did what to what, when, from what to what."""

    id: int
    at: Timestamp
    actor: User | None = Field(description="Null: the CLI or the worker.")
    token: TokenRef | None = Field(description="The API token the change came through, if any.")
    action: str = Field(
        description="`<kind>.created|changed|deleted` for a record, `api.<operation>` for an "
        "API write (`after` holds what it sent), or a named action such as `customer.erased`."
    )
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None = Field(description='Secrets only as `"(changed)"`.')
    after: dict[str, Any] | None = Field(description='Secrets only as `"(changed)"`.')


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )
