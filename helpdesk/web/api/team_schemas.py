"""The API's shapes for writing teams (a team is answered as ``schemas.Team``)."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictInt, StrictStr

from helpdesk.models import AssignmentMode, Team
from helpdesk.teams import MAX_CAPACITY
from helpdesk.web.api.schemas import Request, RowId, change

NAME_LENGTH = Team.name.type.length
_ASSIGNMENT = (
    "`off`: tickets wait in the team until someone takes them; `round_robin`: to the "
    "assignable member given one longest ago; `least_open`: to the assignable member with the "
    "fewest new and open tickets."
)
_CAPACITY = f"Most new and open tickets per agent for auto-assignment, 1 to {MAX_CAPACITY}."
_AWAY = "When a member goes away, their tickets without an agent reply yet go back to the team."
_MEMBERS = "The ids of the team's agents from now on; deactivated users are refused."


class NewTeam(Request):
    """A new team; its name is unique, whatever the case."""

    name: StrictStr = Field(max_length=NAME_LENGTH)
    assignment: AssignmentMode = Field(AssignmentMode.OFF, description=_ASSIGNMENT)
    capacity: StrictInt = Field(10, description=_CAPACITY)
    return_unanswered_when_away: StrictBool = Field(False, description=_AWAY)
    members: list[RowId] = Field([], description=_MEMBERS)


class TeamChanges(Request):
    """Only the fields sent are written."""

    name: StrictStr = change(max_length=NAME_LENGTH)
    assignment: AssignmentMode = change(_ASSIGNMENT)
    capacity: StrictInt = change(_CAPACITY)
    return_unanswered_when_away: StrictBool = change(_AWAY)
    members: list[RowId] = change(_MEMBERS)
