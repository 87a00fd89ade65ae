"""Bulk changes: one set of changes made to many tickets in one transaction.

Each ticket changes through the same service functions as on its own page (an event per
change, one version step per ticket). The tickets are locked up front in id order, so two bulk
changes (or a bulk change and intake) never deadlock one another. They change together in one
savepoint, their writes gathered into one flush; when the rules refuse one of them (a
deactivated assignee, say), that savepoint is dropped and each ticket is tried in a savepoint
of its own, so a refused ticket keeps nothing of the change and the others go ahead.

A macro's ticket changes apply; its reply text never goes out in bulk, since a reply is written
for one customer and read before it is sent: a macro with a text is refused as a whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from helpdesk.extensions import db
from helpdesk.models import (
    Macro,
    Priority,
    Stage,
    StageSource,
    Team,
    Ticket,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import trash, versions
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.events import gathered
from helpdesk.tickets.macros import apply_macro
from helpdesk.tickets.merging import merge
from helpdesk.tickets.outbound import IN_TRASH
from helpdesk.tickets.properties import (
    _parse,
    assign,
    set_priority,
    set_stage,
    set_status,
    set_team,
)
from helpdesk.tickets.queries import TicketFilter
from helpdesk.tickets.tags import add_tag, remove_tag, tag_name

# DESIGN: bulk acts on at most this many tickets per request.
MAX_TICKETS = 1000
NOT_FOUND = "no such ticket"
CLOSED = (
    "closed tickets are final: in bulk only their tags, spam mark or deletion change (reopen it "
    "on its page first)"
)


class Keep:
    """Leave this property as it is (``None`` means "nobody" / "no team")."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()


class TooManyTickets(ValueError):
    """More tickets than one bulk change may take; nothing was changed."""


@dataclass(frozen=True, slots=True)
class BulkChanges:
    """What to do to every ticket; a field left at its default changes nothing."""

    status: str | None = None
    priority: str | None = None
    stage: str | None = None
    assignee: User | Keep | None = KEEP
    team: Team | Keep | None = KEEP
    tags_add: tuple[str, ...] = ()
    tags_remove: tuple[str, ...] = ()
    macro: Macro | None = None  # its changes come after the fields above
    merge_into: Ticket | None = None  # last of all: each ticket merged into this one
    spam: bool | None = None  # marked as spam (True) or not spam (False)
    deleted: bool = False  # moved to the trash (managers and admins)
    stage_source: StageSource = StageSource.AGENT

    def leaves_properties(self) -> bool:
        """Whether these changes touch only tags, the spam mark and deletion, all of which a
        closed ticket takes."""
        kept = {
            "tags_add": self.tags_add,
            "tags_remove": self.tags_remove,
            "spam": self.spam,
            "deleted": self.deleted,
        }
        return self == BulkChanges(**kept, stage_source=self.stage_source)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A ticket left as it was, and why; ``number`` is None for an id that names no ticket."""

    ticket_id: int
    number: int | None
    reason: str


@dataclass(slots=True)
class BulkResult:
    """Per ticket, by id: changed, already as asked (unchanged), or refused with the reason."""

    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


Apply = Callable[[Ticket, User, BulkChanges, datetime], object]
Snapshot = tuple[dict[str, object], frozenset[str], tuple[bool, bool]]


def _each(
    change: Callable[..., str], ticket: Ticket, actor: User, names: tuple[str, ...], at: datetime
) -> None:
    for name in names:
        change(ticket, actor, name, at=at)


# (wanted, apply) in the order they run: the team before the assignee, since a new team clears
# an assignee outside it. One more bulk action is one more field above and one more line here.
_STEPS: tuple[tuple[Callable[[BulkChanges], bool], Apply], ...] = (
    (lambda c: c.team is not KEEP, lambda t, a, c, at: set_team(t, a, c.team, at=at)),
    (lambda c: c.assignee is not KEEP, lambda t, a, c, at: assign(t, a, c.assignee, at=at)),
    (lambda c: c.status is not None, lambda t, a, c, at: set_status(t, a, c.status, at=at)),
    (lambda c: c.priority is not None, lambda t, a, c, at: set_priority(t, a, c.priority, at=at)),
    (
        lambda c: c.stage is not None,
        lambda t, a, c, at: set_stage(t, a, c.stage, source=c.stage_source, at=at),
    ),
    (lambda c: bool(c.tags_add), lambda t, a, c, at: _each(add_tag, t, a, c.tags_add, at)),
    (
        lambda c: bool(c.tags_remove),
        lambda t, a, c, at: _each(remove_tag, t, a, c.tags_remove, at),
    ),
    (
        lambda c: c.macro is not None,
        lambda t, a, c, at: apply_macro(c.macro, t, a, source=c.stage_source, at=at),
    ),
    (lambda c: c.merge_into is not None, lambda t, a, c, at: _merge(t, a, c.merge_into, at)),
    (lambda c: c.spam is True, lambda t, a, c, at: trash.mark_spam(t, a, at=at)),
    (lambda c: c.spam is False, lambda t, a, c, at: trash.unmark_spam(t, a, at=at)),
    (lambda c: c.deleted, lambda t, a, c, at: trash.delete_ticket(t, a, at=at)),
)


def _merge(ticket: Ticket, actor: User, target: Ticket, at: datetime) -> None:
    # The target among the chosen tickets is where the others go, not a refusal.
    if ticket.id != target.id:
        merge(ticket, target, actor, at=at)


# What the changes read on every ticket, loaded with the locked rows in a few queries.
_LOADED = (selectinload(Ticket.tags), selectinload(Ticket.assignee), selectinload(Ticket.team))


def apply_bulk(
    target: Sequence[int] | TicketFilter, changes: BulkChanges, actor: User
) -> BulkResult:
    """Make ``changes`` to the tickets with these ids, or to those matching the filter.

    InvalidInput when the changes themselves are unusable (nothing is changed then);
    TooManyTickets past MAX_TICKETS. Flushes; the caller commits.
    """
    steps = _steps_for(changes)
    if changes.deleted and actor.role not in trash.DELETERS:
        raise InvalidInput("only managers and admins delete tickets")
    if changes.merge_into is not None:
        # Taken first, so that bulk merges into one ticket queue on it rather than deadlock.
        versions.lock(changes.merge_into.id)
    tickets, missing = _locked(target)
    result = BulkResult(refused=[Refusal(ticket_id, None, NOT_FOUND) for ticket_id in missing])
    # Deleted since the queue showed it: nothing changes in the trash.
    result.refused += [
        Refusal(t.id, t.number, IN_TRASH.format(number=t.number)) for t in tickets if t.is_deleted
    ]
    tickets = [t for t in tickets if not t.is_deleted]
    at = utcnow()
    # A closed ticket takes only tags (and spam, deletion): with other changes it may be
    # refused, so it goes alone.
    alone = [
        t for t in tickets if t.status == TicketStatus.CLOSED and not changes.leaves_properties()
    ]
    together = [t for t in tickets if t not in alone]
    if not _change_together(together, steps, changes, actor, at, result):
        alone = together + alone
    for ticket in alone:
        _change_one(ticket, steps, changes, actor, at, result)
    result.changed.sort()
    result.unchanged.sort()
    result.refused.sort(key=lambda refusal: refusal.ticket_id)
    return result


def other_customers(target: Sequence[int] | TicketFilter, into: Ticket) -> list[Ticket]:
    """The chosen tickets (at most MAX_TICKETS) whose customer is not the one of the ticket
    they would be merged into: the agent confirms those first."""
    if isinstance(target, TicketFilter):
        chosen = and_(*target.conditions())
    else:
        chosen = Ticket.id.in_(target)
    return list(
        db.session.scalars(
            select(Ticket)
            .where(chosen, Ticket.customer_id != into.customer_id)
            .order_by(Ticket.id)
            .limit(MAX_TICKETS)
        )
    )


def _steps_for(changes: BulkChanges) -> list[Apply]:
    """The changes' steps; InvalidInput for values no ticket could take (said once, not per
    ticket)."""
    for enum, value, what in (
        (TicketStatus, changes.status, "status"),
        (Priority, changes.priority, "priority"),
        (Stage, changes.stage, "stage"),
    ):
        if value is not None:
            _parse(enum, value, what)
    for name in (*changes.tags_add, *changes.tags_remove):
        tag_name(name)
    if changes.macro is not None and changes.macro.text.strip():
        raise InvalidInput(
            f"macro “{changes.macro.name}” has a reply text, and bulk changes send no replies: "
            "apply it ticket by ticket, or use a macro without text"
        )
    steps = [apply for wanted, apply in _STEPS if wanted(changes)]
    if not steps:
        raise InvalidInput("choose at least one change")
    return steps


def _locked(target: Sequence[int] | TicketFilter) -> tuple[list[Ticket], list[int]]:
    """The target's tickets, locked in id order, and the asked-for ids that name none."""
    if isinstance(target, TicketFilter):
        conditions, wanted = target.conditions(), []
    else:
        wanted = sorted(set(target))
        if len(wanted) > MAX_TICKETS:
            raise TooManyTickets(_too_many(f"{len(wanted):,} tickets were chosen"))
        conditions = [Ticket.id.in_(wanted)]
    tickets = list(versions.lock_where(*conditions, limit=MAX_TICKETS + 1, options=_LOADED))
    if len(tickets) > MAX_TICKETS:
        raise TooManyTickets(_too_many(f"more than {MAX_TICKETS:,} tickets match this filter"))
    found = {ticket.id for ticket in tickets}
    return tickets, [ticket_id for ticket_id in wanted if ticket_id not in found]


def _too_many(what: str) -> str:
    return f"{what}; a bulk change takes at most {MAX_TICKETS:,}: narrow the filter"


def _change_together(
    tickets: list[Ticket],
    steps: list[Apply],
    changes: BulkChanges,
    actor: User,
    at: datetime,
    result: BulkResult,
) -> bool:
    """Change all the tickets in one savepoint, written in one flush: the quick way, as long as
    the rules refuse none. False when they refuse one: nothing is kept then, and each ticket is
    tried on its own."""
    before = [_snapshot(ticket) for ticket in tickets]
    savepoint = db.session.begin_nested()
    try:
        with gathered():
            for ticket in tickets:
                for apply in steps:
                    apply(ticket, actor, changes, at)
    except TicketError:
        savepoint.rollback()
        return False
    savepoint.commit()
    for ticket, was in zip(tickets, before, strict=True):
        _sort_out(ticket.id, was, _snapshot(ticket), changes, result)
    return True


def _change_one(
    ticket: Ticket,
    steps: list[Apply],
    changes: BulkChanges,
    actor: User,
    at: datetime,
    result: BulkResult,
) -> None:
    """Change one ticket in a savepoint of its own, or note why the rules refuse it."""
    ticket_id, number = ticket.id, ticket.number
    before = _snapshot(ticket)
    savepoint = db.session.begin_nested()
    try:
        with gathered():
            for apply in steps:
                apply(ticket, actor, changes, at)
        after = _snapshot(ticket)
        if before[0]["status"] == TicketStatus.CLOSED and after[0] != before[0]:
            raise TicketError(CLOSED)
    except TicketError as refused:
        # The savepoint takes this ticket's events and version step with it.
        savepoint.rollback()
        result.refused.append(Refusal(ticket_id, number, str(refused)))
        return
    savepoint.commit()
    _sort_out(ticket_id, before, after, changes, result)


def _sort_out(
    ticket_id: int, before: Snapshot, after: Snapshot, changes: BulkChanges, result: BulkResult
) -> None:
    # A macro always leaves its mark (its event and use count), whatever it set.
    moved = after != before or changes.macro is not None
    (result.changed if moved else result.unchanged).append(ticket_id)


def _snapshot(ticket: Ticket) -> Snapshot:
    """What a bulk change can move on a ticket: its properties and where it was merged, its
    tags, and whether it is spam or deleted."""
    properties = {**versions.current_properties(ticket), "merged_into": ticket.merged_into_id}
    bins = (ticket.is_spam, ticket.is_deleted)
    return properties, frozenset(tag.name for tag in ticket.tags), bins
