"""Automatic assignment: a team's tickets to its assignable agents, never past their capacity.

DESIGN.md: assignable = active, marked available and seen in the last two minutes; capacity
counts the ``new`` and ``open`` tickets an agent holds (not ``pending``). Round robin gives the
next ticket to the free member who was given one longest ago; least open work to the free
member holding the fewest. With nobody free a ticket waits unassigned in its team and the
worker's job hands it out, oldest first, when someone frees up.

Several web processes and workers assign at once. Whoever assigns holds a lock on the team and
on each candidate agent (PostgreSQL advisory locks, team first, then agents by id: one global
order) and counts the agents' tickets only then, so two assigners never both fill an agent's
last slot nor take the same waiting ticket. ``offer`` runs inside someone else's transaction
(intake, a team change) that may hold other locks already, so it only *tries* the locks: when
another assigner holds one, the ticket waits for the job, which is the only one to wait.
SQLite writes one transaction at a time: its write lock is taken before counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy import text as sql
from sqlalchemy.orm import contains_eager

from helpdesk.chat import presence
from helpdesk.chat.presence import online
from helpdesk.extensions import db
from helpdesk.models import AssignmentMode, Team, TeamMember, Ticket, TicketStatus, User, utcnow
from helpdesk.tickets.bins import Bin, bin_condition
from helpdesk.tickets.properties import assign
from helpdesk.transient import retried

# The statuses capacity counts: work the agent still owes (pending waits on the customer).
WORKING = (TicketStatus.NEW, TicketStatus.OPEN)
# Round robin's order stays strict when one round hands out several tickets at one moment.
_TICK = timedelta(microseconds=1)


def is_assignable(user: User, now: datetime | None = None) -> bool:
    """True when automatic assignment may give the agent a ticket now (capacity aside)."""
    return presence.is_online(user, now)


def offer(ticket: Ticket, at: datetime | None = None) -> User | None:
    """Give a ticket waiting in its team to the team's next free agent and return them; None
    leaves it waiting (nobody free, the team assigns by hand, or another assigner is busy)."""
    if not _waiting(ticket):
        return None
    at = at or utcnow()
    db.session.flush()  # the counts below must see this transaction's own assignments
    team = ticket.team
    candidates = _assignable_members(team)
    if not candidates or not _lock(team, candidates, wait=False):
        return None
    pool = _Pool(team, candidates, _loads(candidates))
    member = pool.next()
    if member is not None:
        _give(ticket, member, pool, at)
    return member.user if member else None


def assign_waiting(at: datetime | None = None) -> int:
    """Hand the tickets waiting in every assigning team to agents with room, oldest first;
    commits once per team and returns how many were assigned (the worker's job)."""
    at = at or utcnow()
    team_ids = db.session.scalars(
        select(Team.id).where(Team.assignment != AssignmentMode.OFF).order_by(Team.id)
    ).all()
    db.session.rollback()
    return sum(
        retried(lambda team_id=team_id: _fill(team_id, at), f"assigning team {team_id}")
        for team_id in team_ids
    )


def set_available(user: User, available: bool, at: datetime | None = None) -> list[Ticket]:
    """The agent's own choice, kept for their next login too; going away may return tickets
    to their teams (``went_away``), which are returned."""
    user.available, user.stays_away = available, not available
    if available:
        user.away_since = None
        return []
    return went_away(user, at)


def start_session(user: User, at: datetime | None = None) -> None:
    """An agent logged in: available unless they chose to stay away, and seen now."""
    at = at or utcnow()
    user.available, user.last_seen_at = not user.stays_away, at
    if user.available:
        user.away_since = None


def end_session(user: User, at: datetime | None = None) -> list[Ticket]:
    """An agent logged out: away until they log in again (their choice stays as it was)."""
    user.available = False
    return went_away(user, at)


def went_away(user: User, at: datetime | None = None) -> list[Ticket]:
    """An agent stopped being assignable: their new and open tickets without an agent reply
    yet, in teams that ask for it, go back to those teams and are offered to the others."""
    at = at or utcnow()
    user.away_since = user.away_since or at
    returned = list(
        db.session.scalars(
            select(Ticket)
            .join(Ticket.team)
            .where(
                Ticket.assignee_id == user.id,
                Ticket.status.in_(WORKING),
                Ticket.first_response_at.is_(None),
                Team.return_unanswered_when_away.is_(True),
            )
            .order_by(Ticket.created_at, Ticket.id)
        )
    )
    for ticket in returned:
        assign(ticket, None, None, at=at)
    for ticket in returned:
        offer(ticket, at)
    return returned


def reopened(ticket: Ticket, at: datetime) -> None:
    """A ticket the customer reopened goes back to its assignee when they are assignable;
    otherwise an assigning team gets it back to hand out."""
    if ticket.assignee is not None:
        if is_assignable(ticket.assignee) or not _assigns(ticket.team):
            return
        assign(ticket, None, None, at=at)
    offer(ticket, at)


def run_due(now: datetime | None = None) -> int:
    """The worker's job: note agents who left or came back, then assign waiting tickets."""
    now = now or utcnow()
    _note_departures(now)
    _note_returns(now)
    return assign_waiting(now)


def _waiting(ticket: Ticket) -> bool:
    return (
        _assigns(ticket.team)
        and ticket.assignee_id is None
        and ticket.status in WORKING
        and not (ticket.is_spam or ticket.is_deleted)
    )


def _assigns(team: Team | None) -> bool:
    return team is not None and team.assignment != AssignmentMode.OFF


def _fill(team_id: int, at: datetime) -> int:
    """One team's round: lock it and its assignable agents, then fill their free slots."""
    _begin_writing()
    team = db.session.get(Team, team_id, populate_existing=True)
    candidates = _assignable_members(team) if _assigns(team) else []
    if not candidates:
        db.session.rollback()
        return 0
    _lock(team, candidates, wait=True)
    pool = _Pool(team, candidates, _loads(candidates))
    waiting = db.session.scalars(
        select(Ticket)
        .where(
            Ticket.team_id == team_id,
            Ticket.assignee_id.is_(None),
            Ticket.status.in_(WORKING),
            bin_condition(Bin.ACTIVE),
        )
        .order_by(Ticket.created_at, Ticket.id)
        .limit(pool.room())
        # An agent editing one of them right now keeps it; the next round looks again.
        .with_for_update(skip_locked=True)
    ).all()
    assigned = 0
    for ticket in waiting:
        member = pool.next()
        if member is None:
            break
        _give(ticket, member, pool, at)
        assigned += 1
    db.session.commit()
    return assigned


def _note_departures(now: datetime) -> None:
    """Agents who stopped being assignable since the last round (away, or not seen for two
    minutes): each one's unanswered tickets go back to their teams, once."""
    gone = db.session.scalars(
        select(User.id).where(User.active.is_(True), User.away_since.is_(None), ~online(now))
    ).all()
    db.session.rollback()
    for user_id in gone:
        retried(lambda user_id=user_id: _depart(user_id, now), f"agent {user_id} went away")


def _depart(user_id: int, now: datetime) -> None:
    _begin_writing()
    # Another worker may be noting the same departure: the row lock lets one of them do it.
    user = db.session.scalars(
        select(User)
        .where(User.id == user_id, User.away_since.is_(None), ~online(now))
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if user is not None:
        went_away(user, now)
    db.session.commit()


def _note_returns(now: datetime) -> None:
    db.session.execute(
        update(User)
        .where(User.away_since.is_not(None), online(now))
        .values(away_since=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _assignable_members(team: Team) -> list[TeamMember]:
    """The team's members who may get a ticket now, by user id (the order their locks go in)."""
    return list(
        db.session.scalars(
            select(TeamMember)
            .join(TeamMember.user)
            .where(
                TeamMember.team_id == team.id,
                online(),
            )
            .order_by(TeamMember.user_id)
            .options(contains_eager(TeamMember.user))
            .execution_options(populate_existing=True)
        )
    )


def _loads(members: list[TeamMember]) -> dict[int, int]:
    """Each agent's new and open tickets, as committed now."""
    ids = [member.user_id for member in members]
    counts = dict(
        db.session.execute(
            select(Ticket.assignee_id, func.count())
            .where(
                Ticket.assignee_id.in_(ids),
                Ticket.status.in_(WORKING),
                bin_condition(Bin.ACTIVE),
            )
            .group_by(Ticket.assignee_id)
        ).all()
    )
    return {user_id: counts.get(user_id, 0) for user_id in ids}


def _begin_writing() -> None:
    """SQLite: take the write lock before reading what the writes depend on."""
    connection = db.session.connection()
    if (
        connection.dialect.name == "sqlite"
        and not connection.connection.driver_connection.in_transaction
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _lock(team: Team, members: list[TeamMember], *, wait: bool) -> bool:
    """Hold the team's and these agents' assignment locks until the transaction ends, in the
    one global order; without ``wait``, False as soon as one is held by someone else."""
    _begin_writing()
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return True
    keys = [f"assign team {team.id}"] + [f"assign agent {m.user_id}" for m in members]
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    for key in keys:
        taken = connection.execute(
            sql(f"SELECT {function}(hashtextextended(:key, 0))"), {"key": key}
        ).scalar()
        if taken is False:
            return False
    return True


@dataclass(slots=True)
class _Pool:
    """A team's assignable members and their loads, as counted under the locks."""

    team: Team
    members: list[TeamMember]
    loads: dict[int, int]

    def room(self) -> int:
        return sum(max(0, self.team.capacity - self.loads[m.user_id]) for m in self.members)

    def next(self) -> TeamMember | None:
        free = [m for m in self.members if self.loads[m.user_id] < self.team.capacity]
        return min(free, key=self._turn, default=None)

    def took(self, member: TeamMember, at: datetime) -> None:
        self.loads[member.user_id] += 1
        latest = max((m.last_assigned_at for m in self.members if m.last_assigned_at), default=at)
        member.last_assigned_at = max(at, latest + _TICK)

    def _turn(self, member: TeamMember) -> tuple:
        # Never given one comes first; then whoever was given one longest ago.
        since = (member.last_assigned_at is not None, member.last_assigned_at, member.user_id)
        if self.team.assignment == AssignmentMode.LEAST_OPEN:
            return (self.loads[member.user_id], *since)
        return since


def _give(ticket: Ticket, member: TeamMember, pool: _Pool, at: datetime) -> None:
    assign(ticket, None, member.user, at=at)
    pool.took(member, at)
