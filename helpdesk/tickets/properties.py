"""A ticket's properties: team, assignee, status, priority and stage, and its customer once a
claimed address is proven. Every change is written to the ticket's events.

A person's change (any actor) of team or priority marks it as set by hand, so routing leaves it
alone from then on; the system's own changes (no actor) do not."""

from __future__ import annotations

from datetime import datetime

from helpdesk.chat import events as chat_events
from helpdesk.models import (
    Customer,
    CustomerIdentity,
    Priority,
    Stage,
    StageSource,
    Team,
    Ticket,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import identity_claims, sla
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.events import SUBJECT_LENGTH, _flush, _record
from helpdesk.tickets.ratings import ask_at_solve


def assign(
    ticket: Ticket, actor: User | None, assignee: User | None, *, at: datetime | None = None
) -> None:
    """Give the ticket to an active agent, or to nobody."""
    if assignee is not None and not assignee.active:
        raise TicketError(f"{assignee.email} is deactivated and cannot take tickets")
    if ticket.assignee_id == (assignee.id if assignee else None):
        return
    at = at or utcnow()
    before = ticket.assignee.email if ticket.assignee else None
    ticket.assignee = assignee
    _record(ticket, actor, "assignee", before, assignee.email if assignee else None, at)
    ticket.updated_at = at
    if assignee is not None:
        chat_events.announce_assignment(ticket, actor, assignee)
    _flush()


def set_team(
    ticket: Ticket, actor: User | None, team: Team | None, *, at: datetime | None = None
) -> None:
    """Put the ticket in a team, or in none; an assignee outside the new team is cleared."""
    _change_team(ticket, actor, team, at or utcnow())
    _flush()


def set_status(
    ticket: Ticket, actor: User | None, status: TicketStatus | str, *, at: datetime | None = None
) -> None:
    """Move the ticket to another status; solving stamps ``solved_at``."""
    status = _parse(TicketStatus, status, "status")
    if status == ticket.status:
        return
    if ticket.merged_into is not None:
        # Its conversation lives on the other ticket now: reopened, it would be an empty shell.
        raise TicketError(
            f"#{ticket.number} was merged into #{ticket.merged_into.number} and stays closed"
        )
    _change_status(ticket, actor, status, at or utcnow())
    _flush()


def set_priority(
    ticket: Ticket, actor: User | None, priority: Priority | str, *, at: datetime | None = None
) -> None:
    """Give the ticket another priority."""
    _change_priority(ticket, actor, _parse(Priority, priority, "priority"), at or utcnow())
    _flush()


def set_stage(
    ticket: Ticket,
    actor: User | None,
    stage: Stage | str,
    *,
    source: StageSource = StageSource.AGENT,
    reason: str | None = None,
    at: datetime | None = None,
) -> None:
    """Correct the journey stage; intake_stage and intake_rule keep what inference said."""
    stage = _parse(Stage, stage, "stage")
    if stage == ticket.stage:
        return
    at = at or utcnow()
    who = actor.name if actor else "the system"
    _record(ticket, actor, "stage", ticket.stage.value, stage.value, at)
    ticket.stage = stage
    ticket.stage_source = source
    ticket.stage_reason = (reason or f"set by {who}")[:SUBJECT_LENGTH]
    ticket.updated_at = at
    # The corrected stage's targets apply, still counted from when the request arrived.
    sla.apply_targets(ticket)
    sla.note_progress(ticket, at)
    # Imported here: routing changes team and priority through this module's own functions.
    from helpdesk.tickets.routing import route

    # Routed for the stage it had, the ticket may belong elsewhere now.
    route(ticket, at)
    _flush()


def confirm_identity(
    claim: CustomerIdentity,
    ticket: Ticket,
    proof: str,
    *,
    at: datetime | None = None,
) -> Customer:
    """A claimed address proven (``proof`` says how) on this ticket: it becomes the claimant's,
    or the claimant joins the customer who holds it; returns who holds it now."""
    at = at or utcnow()
    claimant, address = claim.customer.display_name, claim.value
    owner, moved = identity_claims.prove(claim, at)
    _record(ticket, None, "identity-verified", None, f"{address} {proof}", at)
    for each in moved:
        _record(each, None, "customer", claimant, owner.display_name, at)
    return owner


def _change_status(
    ticket: Ticket,
    actor: User | None,
    status: TicketStatus,
    at: datetime,
    kind: str = "status",
) -> None:
    _record(ticket, actor, kind, ticket.status.value, status.value, at)
    ticket.status = status
    if status == TicketStatus.SOLVED:
        ticket.solved_at = at
        ticket.resolution_seconds = _seconds_since_creation(ticket, at)
        ask_at_solve(ticket, at)
    elif status != TicketStatus.CLOSED:
        ticket.solved_at = None
        ticket.resolution_seconds = None
    if kind == "reopened":
        ticket.reopen_count += 1
    ticket.updated_at = at
    sla.note_progress(ticket, at)


def _change_team(ticket: Ticket, actor: User | None, team: Team | None, at: datetime) -> None:
    """The team change without a flush (intake routes a whole batch, then flushes once)."""
    if ticket.team_id == (team.id if team else None):
        return
    _record(ticket, actor, "team", _name(ticket.team), _name(team), at)
    ticket.team = team
    ticket.team_set_by_hand = ticket.team_set_by_hand or actor is not None
    ticket.updated_at = at
    if team is not None and ticket.assignee_id and not team.has_member(ticket.assignee_id):
        assign(ticket, actor, None, at=at)


def _change_priority(ticket: Ticket, actor: User | None, priority: Priority, at: datetime) -> None:
    """The priority change without a flush."""
    if priority == ticket.priority:
        return
    _record(ticket, actor, "priority", ticket.priority.value, priority.value, at)
    ticket.priority = priority
    ticket.priority_set_by_hand = ticket.priority_set_by_hand or actor is not None
    ticket.updated_at = at


def _name(team: Team | None) -> str | None:
    return team.name if team else None


def _parse(enum, value, what: str):
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(f"unknown {what} {value!r}; use one of {allowed}") from None


def _seconds_since_creation(ticket: Ticket, at: datetime) -> int:
    return max(0, int((at - ticket.created_at).total_seconds()))
