"""The API's shapes for tags: the tags in use, with how many tickets carry each."""

from __future__ import annotations

from pydantic import BaseModel, Field

from helpdesk.tickets.tags import TAG_LENGTH


class TagUse(BaseModel):
    name: str = Field(
        max_length=TAG_LENGTH,
        description="Lower case, spaces as dashes; as the `tag` filter takes it.",
    )
    tickets: int = Field(description="How many tickets carry it now.")


class TagList(BaseModel):
    """The tags on tickets now, the most used first (tags on no ticket are left out)."""

    items: list[TagUse]
    next_cursor: None = Field(
        None, description="Always null: the most used tags, up to 500, are on this one page."
    )
