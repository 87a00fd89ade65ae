"""The API's shapes for saved views: a view with its count, a new one, a change."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictStr

from helpdesk import saved_views
from helpdesk.models import SavedView as SavedViewRow
from helpdesk.tickets.queries import COUNT_CAP, QueueSort, StatusCount
from helpdesk.web.api.query_schemas import TicketFilterFields
from helpdesk.web.api.schemas import (
    Request,
    Response,
    RowId,
    TeamRef,
    Timestamp,
    User,
)

Sort = Literal[tuple(sort.value for sort in QueueSort)]  # type: ignore[valid-type]


class ViewFilters(Request, TicketFilterFields):
    """The queue's filters and sort, as `GET /tickets` takes them in its query string; those
    left out do not filter. `assignee=me` and `team=mine` mean whoever opens the view."""

    sort: Sort | None = Field(None, description="As `GET /tickets` takes it; `newest` if left out.")


class SavedView(Response):
    """A queue's filters and sort kept under a name, personal or shared with a team."""

    id: int
    name: str
    owner: User
    team: TeamRef | None = Field(description="The team it is shared with; null: personal.")
    filters: dict[str, str] = Field(
        description="The `GET /tickets` parameters it keeps (filters and `sort`)."
    )
    count: int | None = Field(
        description=f"Its tickets for the token's user, counted up to {COUNT_CAP:,}; null when "
        "its filters no longer make sense (say, a stage that was renamed)."
    )
    count_capped: bool = Field(description=f"True when there are {COUNT_CAP:,} or more.")
    created_at: Timestamp

    @classmethod
    def of(cls, view: SavedViewRow, total: StatusCount | None) -> SavedView:
        """The view with its count (None: its filters cannot count)."""
        shown: dict[str, Any] = {
            "filters": saved_views.args_of(view),
            "count": None if total is None else total.value,
            "count_capped": total is not None and total.capped,
        }
        by_attribute = {name: getattr(view, name) for name in cls.model_fields.keys() - shown}
        return cls.model_validate(by_attribute | shown)


class SavedViewList(BaseModel):
    """The views the token's user sees: their own and those shared with their teams, by name."""

    items: list[SavedView]
    next_cursor: None = Field(None, description="Always null: every view is on this one page.")


class NewView(Request):
    """A view to save."""

    name: StrictStr = Field(max_length=saved_views.NAME_LENGTH)
    filters: ViewFilters = Field(
        default_factory=ViewFilters, description="Left out: every ticket, newest first."
    )
    team: RowId | None = Field(
        None,
        description="Share it with this team (one of the token user's teams; any team for an "
        "admin); null or left out: the token user's own.",
    )


class ViewChanges(Request):
    """A new name, new filters, or both; what is left out stays."""

    name: StrictStr = Field(
        None,
        max_length=saved_views.NAME_LENGTH,
        json_schema_extra=lambda schema: schema.pop("default", None),
    )
    filters: ViewFilters = Field(
        None,
        json_schema_extra=lambda schema: schema.pop("default", None),
        description="Replace the filters and sort as a whole.",
    )
