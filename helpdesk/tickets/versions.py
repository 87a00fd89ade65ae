"""Ticket versions: every committed change to a ticket moves its ``version`` up by exactly one.

Session hooks do it for every writer (web, API, worker, CLI): before each flush they note the
tickets it touches (a changed column, a new message or event on them), after it they move each
one not moved yet in this transaction with ``version = version + 1`` in SQL, so that concurrent
writers on PostgreSQL queue on the row and none loses an increment. A new ticket starts at 1.
A savepoint rolled back takes its bumps with it, so what it touched is bumped again if written
again. A message's delivery progress (sent, delivered, failed) and files fetched after intake
are no changes to the ticket: they would only make every open page and ETag stale.

Writers that saw an older version use it here: a properties save applies only the fields its
page changed and refuses them when someone else changed one of them since; a reply or note
first shows the messages that came after the newest one its writer saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    ScalarResult,
    Update,
    and_,
    bindparam,
    event,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.orm import InstanceState, Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import ORMOption

from helpdesk.extensions import db
from helpdesk.models import (
    Direction,
    Message,
    Priority,
    Stage,
    Team,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
)
from helpdesk.tickets import assignment, service
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.outbound import IN_TRASH

# --- keeping the version -----------------------------------------------------------------------

_LOG = "helpdesk ticket versions"
Row = TypeVar("Row", Team, User)


class _VersionLog:
    """The tickets this session's transaction has bumped, with the transactions open then."""

    def __init__(self) -> None:
        self.bumped: dict[Any, tuple[SessionTransaction, ...]] = {}
        # What the running flush touches: tickets it inserts (they start at 1), and the others.
        self.created: list[InstanceState] = []
        self.due: list[InstanceState] = []


def _log(session: Session) -> _VersionLog:
    log = session.info.get(_LOG)
    if log is None:
        log = session.info[_LOG] = _VersionLog()
    return log


def _open_transactions(session: Session) -> tuple[SessionTransaction, ...]:
    transaction = session.get_nested_transaction() or session.get_transaction()
    chain = []
    while transaction is not None:
        chain.append(transaction)
        transaction = transaction.parent
    return tuple(chain)


def _touched_tickets(session: Session) -> list[Ticket]:
    touched: dict[int, Ticket] = {}
    for obj in session.new:
        if isinstance(obj, Ticket):
            touched[id(obj)] = obj
        elif isinstance(obj, Message | TicketEvent):
            ticket = obj.ticket
            if ticket is None and obj.ticket_id is not None:
                ticket = session.get(Ticket, obj.ticket_id)
            if ticket is not None:
                touched[id(ticket)] = ticket
    for obj in session.dirty:
        if isinstance(obj, Ticket) and session.is_modified(obj, include_collections=False):
            touched[id(obj)] = obj
    return list(touched.values())


@event.listens_for(Session, "before_flush")
def _find_touched(session: Session, flush_context: Any, instances: Any) -> None:
    tickets = _touched_tickets(session)
    if not tickets:
        return
    log = _log(session)
    for state in map(inspect, tickets):
        if state.key is None:
            log.created.append(state)
        elif state.key not in log.bumped:
            log.due.append(state)


# In SQL, so that a writer holding an older copy of the row still adds its own one; one
# statement per flush however many tickets an intake batch touches, its ids sorted so that
# rows are locked in one global order.
_BUMP = (
    update(Ticket.__table__)
    .where(Ticket.__table__.c.id.in_(bindparam("ids", expanding=True)))
    .values(version=Ticket.__table__.c.version + 1)
    .returning(Ticket.__table__.c.id, Ticket.__table__.c.version)
)


@event.listens_for(Session, "after_flush_postexec")
def _bump_touched(session: Session, flush_context: Any) -> None:
    log = session.info.get(_LOG)
    if log is None or not (log.created or log.due):
        return
    transactions = _open_transactions(session)
    if log.due:
        ids = sorted(state.key[1][0] for state in log.due)
        # The new numbers come back with the update: nobody reads the row again for them.
        bumped = dict(session.connection().execute(_BUMP, {"ids": ids}).all())
        for state in log.due:
            if (ticket := state.obj()) is None:
                continue
            if (version := bumped.get(state.key[1][0])) is None:
                # Its row went in this flush (a purge): nothing to read, now or later.
                session.expire(ticket, ["version"])
            else:
                set_committed_value(ticket, "version", version)
    for state in (*log.created, *log.due):
        log.bumped[state.key] = transactions
    log.created.clear()
    log.due.clear()


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    log = session.info.get(_LOG)
    if log is None:
        return
    log.created.clear()
    log.due.clear()
    log.bumped = {
        key: chain for key, chain in log.bumped.items() if previous_transaction not in chain
    }


@event.listens_for(Session, "after_transaction_end")
def _forget_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_LOG, None)


def written_with_bump(*conditions: ColumnElement[bool], **changes: Any) -> Update:
    """An UPDATE for a writer that goes without the ORM: it writes ``changes`` to the ticket
    whose id is bound as ``ticket_id`` and moves its version up by one, only when the ticket
    meets ``conditions`` as committed then. Build it once; run it with ``bump_written``."""
    table = Ticket.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("ticket_id"), *conditions)
        .values(version=table.c.version + 1, **changes)
        .returning(table.c.version)
    )


def bump_written(statement: Update, ticket_id: int, **values: Any) -> int | None:
    """Run a ``written_with_bump`` UPDATE; the ticket's new version, or None when it did not
    meet the conditions (nothing written).

    The ticket counts as bumped for the rest of the transaction: a later flush that touches it
    adds nothing more. Run one per ticket and transaction.
    """
    connection = db.session.connection()
    version = connection.execute(statement, {"ticket_id": ticket_id, **values}).scalar()
    if version is not None:
        session = db.session()
        key = inspect(Ticket).identity_key_from_primary_key((ticket_id,))
        _log(session).bumped[key] = _open_transactions(session)
    return version


def lock(ticket_id: int) -> Ticket | None:
    """The ticket as committed now, held until this transaction ends: check, then write.

    PostgreSQL locks the row; SQLite takes its write lock up front, since a read snapshot
    that another process wrote past cannot be upgraded to a write.
    """
    return lock_where(Ticket.id == ticket_id).one_or_none()


def lock_where(
    *conditions: ColumnElement[bool], limit: int | None = None, options: Sequence[ORMOption] = ()
) -> ScalarResult[Ticket]:
    """The tickets meeting ``conditions`` as committed now (at most ``limit``, loaded with
    ``options``), held until this transaction ends, locked in id order: writers that lock
    several tickets at once never deadlock one another."""
    begin_writing()
    return db.session.scalars(
        select(Ticket)
        .where(*conditions)
        .order_by(Ticket.id)
        .limit(limit)
        .with_for_update(of=Ticket)
        .options(*options)
        .execution_options(populate_existing=True)
    )


def begin_writing() -> None:
    """SQLite: take the write lock up front, since a read snapshot that another process wrote
    past cannot be upgraded to a write (PostgreSQL needs nothing of the kind)."""
    connection = db.session.connection()
    if (
        connection.dialect.name == "sqlite"
        and not connection.connection.driver_connection.in_transaction
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def etag(ticket: Ticket) -> str:
    """The ticket's entity tag (unquoted): its id and version."""
    return f"{ticket.id}-{ticket.version}"


# --- properties --------------------------------------------------------------------------------

# The team comes before the assignee: a new team clears an assignee outside it.
PROPERTIES = ("team", "assignee", "status", "priority", "stage")


def current_properties(ticket: Ticket) -> dict[str, str]:
    """The ticket's properties as a form carries them: enum values, the assignee's id or ""."""
    return properties_of(
        ticket.team_id, ticket.assignee_id, ticket.status, ticket.priority, ticket.stage
    )


def properties_of(
    team_id: int | None, assignee_id: int | None, status: str, priority: str, stage: str
) -> dict[str, str]:
    """``current_properties`` from the ticket's columns as read without the ticket."""
    return {
        "team": str(team_id or ""),
        "assignee": str(assignee_id or ""),
        "status": TicketStatus(status).value,
        "priority": Priority(priority).value,
        "stage": Stage(stage).value,
    }


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field both writers changed: its value now (theirs) and the one refused (yours)."""

    field: str
    theirs: str
    yours: str


class PropertiesConflict(TicketError):
    """Someone else changed a field since the version the writer saw, and so did the writer."""

    def __init__(self, conflicts: list[Conflict], changes: dict[str, str]) -> None:
        names = ", ".join(conflict.field for conflict in conflicts)
        super().__init__(f"changed by someone else meanwhile: {names}")
        self.conflicts = conflicts
        self.changes = changes


def change_properties(
    ticket: Ticket,
    actor: User,
    wanted: Mapping[str, str],
    seen: Mapping[str, str],
    seen_version: int,
) -> dict[str, str]:
    """Apply the fields of ``wanted`` that differ from ``seen`` (what the writer's page showed
    at ``seen_version``); the changes applied. Call it on a ``lock``-ed ticket.

    Untouched fields are never written. When another writer changed any of the changed fields
    since (to something else), nothing is applied: the writer decides with both values shown.
    """
    if ticket.deleted_at is not None:
        raise TicketError(IN_TRASH.format(number=ticket.number))
    changes = {name: wanted[name] for name in PROPERTIES if wanted[name] != seen[name]}
    if seen_version != ticket.version:
        now = current_properties(ticket)
        conflicts = [
            Conflict(name, now[name], value)
            for name, value in changes.items()
            if now[name] not in (seen[name], value)
        ]
        if conflicts:
            raise PropertiesConflict(conflicts, changes)
    if "team" in changes:
        service.set_team(ticket, actor, _row(Team, changes["team"], "team"))
    if "assignee" in changes:
        service.assign(ticket, actor, _row(User, changes["assignee"], "user"))
    if "status" in changes:
        service.set_status(ticket, actor, changes["status"])
    if "priority" in changes:
        service.set_priority(ticket, actor, changes["priority"])
    if "stage" in changes:
        service.set_stage(ticket, actor, changes["stage"])
    if "team" in changes:
        # Moved into a team without an assignee: the team's automatic assignment takes it.
        assignment.offer(ticket)
    return changes


def _row(model: type[Row], value: str, what: str) -> Row | None:
    if not value:
        return None
    row = db.session.get(model, int(value)) if value.isdigit() else None
    if row is None:
        raise InvalidInput(f"no {what} with id {value!r}")
    return row


def last_changed_by(ticket: Ticket, field: str) -> TicketEvent | None:
    """The audit entry of the latest change to one property (who made it, and when)."""
    kinds = ("status", "reopened") if field == "status" else (field,)
    return db.session.scalars(
        select(TicketEvent)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.kind.in_(kinds),
            # Copies of a merged ticket's events tell its story, not who changed this one.
            TicketEvent.merged_from_id.is_(None),
        )
        .order_by(TicketEvent.id.desc())
        .limit(1)
    ).first()


# --- replies and notes -------------------------------------------------------------------------


def newer_messages(ticket: Ticket, seen_message_id: int, writer: User) -> list[Message]:
    """What came after the newest message the writer saw and they should read before writing:
    the customer's messages and other people's replies and notes (not automatic messages)."""
    return list(
        db.session.scalars(
            select(Message)
            .where(newer_than_seen(ticket.id, seen_message_id, writer.id))
            .order_by(Message.id)
        )
    )


def newer_than_seen(ticket_id: Any, seen_message_id: Any, writer_id: Any) -> ColumnElement[bool]:
    """The messages ``newer_messages`` lists, as a condition (its arguments values or bound
    parameters)."""
    return and_(
        Message.ticket_id == ticket_id,
        Message.id > seen_message_id,
        or_(
            Message.direction == Direction.INBOUND,
            and_(Message.author_id.is_not(None), Message.author_id != writer_id),
        ),
    )


def newest_message_id(ticket: Ticket) -> int:
    """The id of the ticket's newest message (0 when it has none): what its page shows last."""
    return max((message.id for message in ticket.messages), default=0)
