"""The API's shapes for the people who work in the helpdesk."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictStr

from helpdesk.models import Role, User
from helpdesk.passwords import MIN_PASSWORD_LENGTH
from helpdesk.web.api.schemas import Request, Response, RowId, Timestamp, change

NAME_LENGTH = User.name.type.length
EMAIL_LENGTH = User.email.type.length
# Long enough for any passphrase; a bound keeps hashing cheap.
PASSWORD_LENGTH = 200


class UserDetail(Response):
    """Someone who works in the helpdesk: an agent, a manager or an admin."""

    id: int = Field(description="What `assignee` takes on tickets, bulk changes and macros.")
    name: str
    email: str = Field(json_schema_extra={"format": "email"}, description="Their login.")
    role: Role
    active: bool = Field(description="False: deactivated, may not log in or take tickets.")
    available: bool = Field(description="Marked available by themselves.")
    online: bool = Field(
        description="Available and seen in the last two minutes: online for chat, and "
        "assignable by automatic assignment."
    )
    team_ids: list[int] = Field(description="The teams they are in, by team name.")
    created_at: Timestamp


class UserPage(Response):
    """Everyone, active first, by name."""

    items: list[UserDetail]
    next_cursor: None = Field(None, description="Always null: everyone is on this one page.")


class NewUser(Request):
    """A new active user who logs in with this email and password."""

    email: StrictStr = Field(max_length=EMAIL_LENGTH, description="Their login, unique.")
    name: StrictStr = Field(
        "", max_length=NAME_LENGTH, description="Left out or empty: the email's local part."
    )
    role: Role = Role.AGENT
    password: StrictStr = Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=PASSWORD_LENGTH,
        description="Never answered back, nor kept on the audit trail.",
    )


class UserChanges(Request):
    """Only the fields sent are written."""

    name: StrictStr = change("Empty keeps the name as it is.", max_length=NAME_LENGTH)
    role: Role = change(
        "The last active admin cannot stop being one: make someone else admin "
        "first (400 `invalid` naming `role`)."
    )
    active: StrictBool = change(
        "False deactivates: they cannot log in, their tokens stop working and "
        "they are no longer available. Nobody deactivates themselves or the last active admin."
    )
    password: StrictStr = change(
        "A new password; never answered back, nor kept on the audit trail.",
        min_length=MIN_PASSWORD_LENGTH,
        max_length=PASSWORD_LENGTH,
    )
    teams: list[RowId] = change(
        "The ids of the teams they are in from now on (`[]`: none); a deactivated user joins none."
    )
