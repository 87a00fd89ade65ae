"""The API's shapes for a ticket's conversation read on its own: its messages a page at a
time, and every file on it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from helpdesk.web.api.schemas import Attachment, Message


class MessagePage(BaseModel):
    """One page of a ticket's messages, oldest first, as `GET /tickets/{id}` shows them."""

    items: list[Message]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )


class TicketFile(Attachment):
    """A file on one of the ticket's messages."""

    message_id: int = Field(description="The message that carries it.")
    download_url: str | None = Field(
        description="Where `GET /attachments/{id}` answers it (with the token); null while an "
        "MMS item still waits to be fetched."
    )


class TicketFileList(BaseModel):
    """Every file on the ticket's messages, in the order of the thread."""

    items: list[TicketFile]
    next_cursor: None = Field(None, description="Always null: every file is on this one page.")
