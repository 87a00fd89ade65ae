"""The API's request bodies that change tickets: property changes, bulk changes, replies
and notes (JSON or with files), merges and splits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainValidator,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    model_validator,
)
from werkzeug.datastructures import FileStorage

from helpdesk.models import Priority, Stage, TicketStatus
from helpdesk.tickets.bulk import MAX_TICKETS as MAX_BULK
from helpdesk.web.api.query_schemas import TicketFilterFields
from helpdesk.web.api.schemas import MAX_ID, Request, RowId


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
