"""What a ticket list is narrowed to (``TicketFilter``) and the ticket traits its ``has`` filter
and the stage reports ask for (``Trait``), as WHERE clauses; for a word search, also as the word
index's property words (helpdesk/tickets/search.py, ``property_word``), so the index can narrow
by them while it reads the words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, or_, select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    FollowUpMode,
    Priority,
    Stage,
    Survey,
    Tag,
    TeamMember,
    Ticket,
    TicketStatus,
    ticket_tags,
)
from helpdesk.tickets import search
from helpdesk.tickets.bins import Bin, bin_condition, parse_bin
from helpdesk.tickets.filter_values import (
    MY_TEAMS,
    NO_TEAM,
    UNASSIGNED,
    assignee_id,
    enum_list,
    parse_date,
    search_text,
    start_of_day,
    tag_list,
    team_id,
)

# A team id no team has: "any of my teams" for someone in none, which no ticket matches.
_NO_SUCH_TEAM = 0


class Trait(StrEnum):
    """Facts about a ticket the ``has`` filter asks for; the stage reports count the same."""

    FIRST_RESPONSE = "first_response"  # an agent has answered publicly
    RESOLUTION = "resolution"  # solved (and not reopened since)
    REOPEN = "reopen"  # reopened at least once
    SLA_TARGET = "sla_target"  # its stage had a target when it arrived or was corrected
    SLA_BREACH = "sla_breach"  # a target was missed
    CSAT = "csat"  # the customer answered the satisfaction question
    # Not merged into another ticket, not spam, not deleted: the reports count only these.
    REPORTED = "reported"
    REACTIVE = "reactive"  # the customer started it (a request)
    PROACTIVE = "proactive"  # the business started it (outreach)
    FOLLOW_UP = "follow_up"  # flagged by an unhappy survey answer, not followed up yet


def trait_condition(trait: Trait) -> ColumnElement[bool]:
    """The WHERE clause for tickets that have ``trait``."""
    return {
        Trait.FIRST_RESPONSE: Ticket.first_response_seconds.is_not(None),
        Trait.RESOLUTION: Ticket.resolution_seconds.is_not(None),
        Trait.REOPEN: Ticket.reopen_count > 0,
        Trait.SLA_TARGET: or_(
            Ticket.first_response_due_at.is_not(None), Ticket.resolution_due_at.is_not(None)
        ),
        Trait.SLA_BREACH: or_(
            Ticket.first_response_breached_at.is_not(None),
            Ticket.resolution_breached_at.is_not(None),
        ),
        Trait.CSAT: exists().where(Survey.ticket_id == Ticket.id, Survey.score.is_not(None)),
        Trait.REPORTED: and_(Ticket.merged_into_id.is_(None), bin_condition(Bin.ACTIVE)),
        Trait.REACTIVE: Ticket.proactive.is_(False),
        Trait.PROACTIVE: Ticket.proactive.is_(True),
        # Read from the few flagged answers: as a condition checked ticket by ticket, the queue's
        # "To follow up" badge walked every ticket on SQLite when none was flagged.
        Trait.FOLLOW_UP: Ticket.id.in_(
            select(Survey.ticket_id).where(
                Survey.follow_up == FollowUpMode.FLAG, Survey.followed_up_at.is_(None)
            )
        ),
    }[trait]


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What a ticket list is narrowed to; empty fields do not narrow anything."""

    statuses: tuple[TicketStatus, ...] = ()
    stages: tuple[Stage, ...] = ()
    channels: tuple[Channel, ...] = ()
    priorities: tuple[Priority, ...] = ()
    assignee: int | Literal["none"] | None = None  # a user id, UNASSIGNED, or anyone
    team: int | Literal["none"] | None = None  # a team id, NO_TEAM, or any team
    teams_of: int | None = None  # ``team=mine``: any team this user id is in
    q: str = ""  # search terms, all of which must match (see helpdesk/tickets/search.py)
    created_from: date | None = None  # inclusive, in ``timezone``
    created_to: date | None = None  # inclusive, in ``timezone``
    has: tuple[Trait, ...] = ()  # every trait must hold
    tags: tuple[str, ...] = ()  # any of these tags
    timezone: str = "UTC"  # the helpdesk's time zone, in which the dates are days
    in_bin: Bin = Bin.ACTIVE  # the work, the spam, or the trash (admins only: the caller checks)

    @classmethod
    def from_args(cls, args: Mapping[str, str], me: int, timezone: str = "UTC") -> TicketFilter:
        """Parse query-string values; ``me`` is the user id that ``assignee=me`` stands for."""
        return cls(
            statuses=enum_list(TicketStatus, args.get("status"), "status"),
            stages=enum_list(Stage, args.get("stage"), "stage"),
            channels=enum_list(Channel, args.get("channel"), "channel"),
            priorities=enum_list(Priority, args.get("priority"), "priority"),
            assignee=assignee_id(args.get("assignee"), me),
            team=team_id(args.get("team")),
            teams_of=me if args.get("team") == MY_TEAMS else None,
            q=search_text(args.get("q")),
            created_from=parse_date(args.get("created_from"), "created_from"),
            created_to=parse_date(args.get("created_to"), "created_to"),
            has=enum_list(Trait, args.get("has"), "has"),
            tags=tag_list(args.get("tag")),
            timezone=timezone,
            in_bin=parse_bin(args.get("in")),
        )

    def conditions(self, with_words: bool = True) -> list[ColumnElement[bool]]:
        """The WHERE clauses this filter stands for; those of ``q`` left out without words."""
        found: list[ColumnElement[bool]] = [bin_condition(self.in_bin)]
        for column, values in (
            (Ticket.status, self.statuses),
            (Ticket.stage, self.stages),
            (Ticket.channel, self.channels),
            (Ticket.priority, self.priorities),
        ):
            if values:
                found.append(column.in_(values))
        if self.assignee == UNASSIGNED:
            found.append(Ticket.assignee_id.is_(None))
        elif self.assignee is not None:
            found.append(Ticket.assignee_id == self.assignee)
        if self.team == NO_TEAM:
            found.append(Ticket.team_id.is_(None))
        elif self.team is not None:
            found.append(Ticket.team_id == self.team)
        if self.teams_of is not None:
            mine = select(TeamMember.team_id).where(TeamMember.user_id == self.teams_of)
            found.append(Ticket.team_id.in_(mine))
        matching = None
        if with_words:
            # Not the status: a list walks its (status, …) indexes and checks each one's words.
            narrowing = replace(self, statuses=()).property_words()
            matching = search.tickets_matching(self.q, dialect(), narrowing)
        if matching is not None:
            found.append(matching)
        if self.created_from:
            found.append(Ticket.created_at >= start_of_day(self.created_from, self.timezone))
        if self.created_to:
            next_day = self.created_to + timedelta(days=1)
            found.append(Ticket.created_at < start_of_day(next_day, self.timezone))
        found.extend(trait_condition(trait) for trait in self.has)
        if self.tags:
            found.append(
                exists()
                .where(ticket_tags.c.ticket_id == Ticket.id)
                .where(ticket_tags.c.tag_id.in_(select(Tag.id).where(Tag.name.in_(self.tags))))
            )
        return found

    def property_words(self) -> list[list[str]]:
        """The word index's words for the properties this filter narrows by (status, stage,
        channel, priority, assignee, team): a ticket passes those filters when it holds a word
        of each list (see ``search.index_query``)."""
        found = [
            [search.property_word(name, value) for value in values]
            for name, values in (
                ("status", self.statuses),
                ("stage", self.stages),
                ("channel", self.channels),
                ("priority", self.priorities),
            )
            if values
        ]
        if self.assignee is not None:
            chosen = None if self.assignee == UNASSIGNED else self.assignee
            found.append([search.property_word("assignee_id", chosen)])
        if self.team is not None:
            found.append(
                [search.property_word("team_id", None if self.team == NO_TEAM else self.team)]
            )
        if self.teams_of is not None:
            mine = db.session.scalars(
                select(TeamMember.team_id).where(TeamMember.user_id == self.teams_of)
            )
            teams = list(mine) or [_NO_SUCH_TEAM]
            found.append([search.property_word("team_id", team) for team in teams])
        return found

    def narrowed_by_properties_alone(self) -> bool:
        """Whether the words of ``q`` and ``property_words`` are all that narrow this list
        besides leaving out the spam and the trash: the word index alone can then answer it."""
        dated = self.created_from is not None or self.created_to is not None
        return self.in_bin == Bin.ACTIVE and not (dated or self.has or self.tags)


def dialect() -> str:
    """The name of the database's dialect, "sqlite" or "postgresql"."""
    return db.session.get_bind().dialect.name
