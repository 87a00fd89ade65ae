"""The rules for teams: who is in which, and how each hands out its new tickets.

The admin pages, the CLI and the demo call these; like the ticket service they flush and never
commit.
"""

from __future__ import annotations

from sqlalchemy import case, func, select

from helpdesk.extensions import db
from helpdesk.models import AssignmentMode, Team, TeamMember, Ticket, TicketStatus, User

MAX_CAPACITY = 1000


class TeamError(Exception):
    """A change to teams that the rules refuse; the message says why, ``field`` about what."""

    def __init__(self, message: str, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


def all_teams() -> list[Team]:
    """Every team, by name."""
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def team_by_name(name: str) -> Team | None:
    return db.session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))


def team_ids_of(user_id: int) -> list[int]:
    """The ids of the teams an agent is in."""
    return list(db.session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id)))


def ticket_counts() -> dict[int, tuple[int, int]]:
    """Per team id: its tickets not yet solved, and those of them waiting for an agent."""
    unsolved = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
    waiting = case((Ticket.assignee_id.is_(None) & Ticket.status.in_(unsolved[:2]), 1), else_=0)
    rows = db.session.execute(
        select(Ticket.team_id, func.count(), func.sum(waiting))
        .where(Ticket.team_id.is_not(None), Ticket.status.in_(unsolved))
        .group_by(Ticket.team_id)
    )
    return {team_id: (count, int(waits or 0)) for team_id, count, waits in rows}


def create_team(
    name: str,
    *,
    assignment: AssignmentMode | str = AssignmentMode.OFF,
    capacity: int = 10,
    return_unanswered_when_away: bool = False,
) -> Team:
    """A new team with nobody in it yet."""
    team = Team(name="")
    update_team(
        team,
        name=name,
        assignment=assignment,
        capacity=capacity,
        return_unanswered_when_away=return_unanswered_when_away,
    )
    db.session.add(team)
    db.session.flush()
    return team


def update_team(
    team: Team,
    *,
    name: str,
    assignment: AssignmentMode | str,
    capacity: int,
    return_unanswered_when_away: bool,
) -> None:
    """Rename a team and change how it assigns its tickets."""
    name = " ".join(name.split())
    if not name:
        raise TeamError("a team needs a name")
    if len(name) > 80:
        raise TeamError("a team name has at most 80 characters")
    holder = team_by_name(name)
    if holder is not None and holder is not team:
        raise TeamError(f"there is already a team called {holder.name}")
    try:
        mode = AssignmentMode(assignment)
    except ValueError:
        allowed = ", ".join(mode.value for mode in AssignmentMode)
        raise TeamError(f"assignment must be one of {allowed}", "assignment") from None
    if not 1 <= capacity <= MAX_CAPACITY:
        raise TeamError(
            f"capacity must be between 1 and {MAX_CAPACITY} tickets per agent", "capacity"
        )
    team.name, team.assignment, team.capacity = name, mode, capacity
    team.return_unanswered_when_away = return_unanswered_when_away
    db.session.flush()


def set_members(team: Team, users: list[User]) -> None:
    """The team's agents from now on (round robin keeps each remaining member's turn)."""
    wanted = {user.id for user in users}
    inactive = [user.email for user in users if not user.active]
    if inactive:
        raise TeamError(f"deactivated users cannot join a team: {', '.join(inactive)}", "members")
    for membership in list(team.memberships):
        if membership.user_id not in wanted:
            team.memberships.remove(membership)
            # Deleted outright, not left to the orphan rule: the audit trail sees it go.
            db.session.delete(membership)
    present = {membership.user_id for membership in team.memberships}
    team.memberships.extend(TeamMember(user_id=user_id) for user_id in wanted - present)
    db.session.flush()


def set_teams_of(user: User, chosen: list[Team]) -> None:
    """The teams an agent is in from now on (round robin keeps their turn in teams they stay in)."""
    if chosen and not user.active:
        raise TeamError(f"deactivated users cannot join a team: {user.email}", "teams")
    wanted = {team.id for team in chosen}
    memberships = db.session.scalars(select(TeamMember).where(TeamMember.user_id == user.id))
    for membership in list(memberships):
        if membership.team_id not in wanted:
            membership.team.memberships.remove(membership)
            # Deleted outright, as in set_members: the audit trail sees it go.
            db.session.delete(membership)
    for team in chosen:
        if not team.has_member(user.id):
            team.memberships.append(TeamMember(user_id=user.id))
    db.session.flush()
