"""Query-string values of the ticket lists, read and checked: a value that cannot be
understood raises InvalidFilter with a message that names it (helpdesk/tickets/queries.py
builds the lists from them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from helpdesk.extensions import db
from helpdesk.models import Team, User
from helpdesk.tickets import search
from helpdesk.tickets.errors import InvalidInput
from helpdesk.tickets.tags import tag_name

UNASSIGNED = "none"
NO_TEAM = "none"
MY_TEAMS = "mine"

E = TypeVar("E", bound=StrEnum)


class InvalidFilter(ValueError):
    """A filter, limit or cursor value that cannot be understood; the message says which."""


def enum_list(enum: type[E], value: str | None, name: str) -> tuple[E, ...]:
    """A comma-separated list of enum values; blank parts are ignored."""
    parts = [part.strip() for part in (value or "").split(",") if part.strip()]
    known = {member.value for member in enum}
    unknown = [part for part in parts if part not in known]
    if unknown:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidFilter(f"{name} must be one or more of {allowed}, not {unknown[0]!r}")
    return tuple(enum(part) for part in parts)


def search_text(value: str | None) -> str:
    """The search box's text, refused when the index cannot answer it well."""
    try:
        search.parse(value or "")
    except search.InvalidSearch as unfit:
        raise InvalidFilter(f"search: {unfit}") from None
    return value or ""


def tag_list(value: str | None) -> tuple[str, ...]:
    """``tag=refund,vip``: tag names as stored (case and spaces do not matter)."""
    names = [part for part in (value or "").split(",") if part.strip()]
    try:
        return tuple(dict.fromkeys(tag_name(name) for name in names))
    except InvalidInput as unfit:
        raise InvalidFilter(f"tag: {unfit}") from unfit


def assignee_id(value: str | None, me: int) -> int | Literal["none"] | None:
    """``assignee=``: ``me`` (the user id ``me``), ``none``, or an existing user's id."""
    if value is None or value == "":
        return None
    if value == "me":
        return me
    if value == UNASSIGNED:
        return UNASSIGNED
    return _existing_id(User, value, "assignee", "me, none or a user id", "user")


def team_id(value: str | None) -> int | Literal["none"] | None:
    """``team=``: ``none``, or an existing team's id (``mine`` narrows by membership instead)."""
    if value is None or value in ("", MY_TEAMS):
        return None
    if value == NO_TEAM:
        return NO_TEAM
    return _existing_id(Team, value, "team", "mine, none or a team id", "team")


def _existing_id(
    model: type[User] | type[Team], value: str, name: str, takes: str, what: str
) -> int:
    """The id of an existing row; a value that is no id, or names nobody, is said plainly."""
    if not value.isdigit() or len(value) > 9:
        raise InvalidFilter(f"{name} must be {takes}, not {value!r}")
    if db.session.get(model, int(value)) is None:
        raise InvalidFilter(f"{name}: there is no {what} with id {value}")
    return int(value)


def parse_date(value: str | None, name: str) -> date | None:
    """A YYYY-MM-DD query-string value, None when absent."""
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidFilter(f"{name} must be a date as YYYY-MM-DD, not {value!r}") from None


def start_of_day(day: date, timezone: str = "UTC") -> datetime:
    """The UTC moment a day begins in ``timezone``."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
