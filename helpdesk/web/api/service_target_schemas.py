"""The API's shapes for the service targets (SLAs) per journey stage."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from helpdesk.models import Stage
from helpdesk.web.api.schemas import Request, Response

# A year of business minutes: far beyond any real target, and deadlines stay quick to count.
MAX_MINUTES = 365 * 24 * 60
Minutes = Annotated[StrictInt, Field(ge=1, le=MAX_MINUTES)]


class ServiceTarget(Response):
    """One stage's targets, in business minutes; null: no target."""

    stage: Stage
    first_response_minutes: int | None = Field(
        description="The first public reply by an agent is due this long after the request."
    )
    resolution_minutes: int | None = Field(
        description="The ticket is to be solved this long after the request."
    )


class ServiceTargets(Response):
    """Every stage's targets (`unknown` included) and the hours they count in."""

    items: list[ServiceTarget]
    next_cursor: None = Field(None, description="Always null: every stage is on this page.")
    business_hours: str | None = Field(
        description="`HELPDESK_BUSINESS_HOURS`, e.g. `mon-fri 09:00-17:00`; null: around the "
        "clock. Set in the environment, not here."
    )
    timezone: str = Field(description="`HELPDESK_TIMEZONE`, which the business hours are in.")


class TargetChanges(Request):
    """A stage's targets from now on; both are given, null removes one."""

    first_response_minutes: Minutes | None = Field(
        description=f"Business minutes, 1 to {MAX_MINUTES:,}; null: no target."
    )
    resolution_minutes: Minutes | None = Field(
        description=f"Business minutes, 1 to {MAX_MINUTES:,}; null: no target."
    )
