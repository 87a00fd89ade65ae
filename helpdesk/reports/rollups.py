"""The stage dashboard's daily figures, kept exact without writers ever waiting on each other.

A ticket counts on the local day it was created (in the helpdesk's time zone), under its
current stage, channel, source, team and assignee, when the reports count it at all (not merged
into another, not spam, not deleted): one arrival, one each if it was reopened, had an SLA
target, missed one; its satisfaction answer adds its score; its first-response and resolution
seconds, when known, join the values the percentiles are taken from.

How it stays exact and contention-free: a flush that changes what a ticket counts as inserts
*delta rows* in its own transaction (``stage_deltas``): the ticket's old contribution with sign
-1 and its new one with sign 1. Inserts only, so two transactions never wait on each other's
rows (the previous attempt upserted shared "any team" rows and serialized intake). The worker
folds the deltas into ``stage_rollups`` every few seconds, one folder at a time: it deletes the
deltas it folds and rewrites the rows they touch in one transaction; it also writes the rows
for any team and any assignee, which no request ever writes. A report reads the rollup rows
and the deltas not yet folded in one statement, so it is exact at every moment
(helpdesk/reports/rollup_reads.py).

This module is what every writer loads: the contribution (one function, :func:`entry_of`,
used by the flush hook and by the rebuild alike) and the hooks that write the deltas.
Folding, packing and rebuilding the rollup rows is helpdesk/reports/rollup_rows.py, which
the worker, the dashboard and ``helpdesk reports`` load (with numpy) and a mail intake never
needs. Changes made with bulk SQL statements (imports, the benchmark's filler) or a change of
``HELPDESK_TIMEZONE`` need ``helpdesk reports rebuild``. The backlog is "now": it is counted
from the open tickets directly (helpdesk/reports/stage_load.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from functools import cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Connection, event, insert, select
from sqlalchemy.orm import Session, attributes

from helpdesk.models import StageDelta, Survey, Ticket
from helpdesk.models.reports import ANY
from helpdesk.tickets.queries import Trait, trait_condition

# The ticket attributes its contribution depends on: a change to any of them may move it (a
# relationship set on the object changes its column only during the flush).
_WATCHED = (
    "created_at",
    "stage",
    "channel",
    "team_id",
    "team",
    "assignee_id",
    "assignee",
    "proactive",
    "merged_into_id",
    "merged_into",
    "spam_at",
    "deleted_at",
    "reopen_count",
    "first_response_due_at",
    "resolution_due_at",
    "first_response_breached_at",
    "resolution_breached_at",
    "first_response_seconds",
    "resolution_seconds",
)
# The summed figures of a rollup row, in this order everywhere.
COUNTS = ("arrivals", "reopened", "with_target", "breached", "csat_total", "csat_count")
DELTAS = StageDelta.__table__
_PENDING = "stage_rollups.pending"


class Entry(NamedTuple):
    """What one ticket contributes, as a delta row holds it."""

    day: date
    stage: str
    channel: str
    proactive: bool
    team_id: int | None
    assignee_id: int | None
    reopened: bool
    with_target: bool
    breached: bool
    score: int | None
    first_response_seconds: int | None
    resolution_seconds: int | None


@cache  # built once: every flush that touches a ticket reads it (statements are immutable)
def source_rows() -> Any:
    """What a ticket's contribution is made of, one row per ticket, reported tickets only."""
    return (
        select(
            Ticket.id,
            Ticket.created_at,
            Ticket.stage,
            Ticket.channel,
            Ticket.proactive,
            Ticket.team_id,
            Ticket.assignee_id,
            Ticket.reopen_count > 0,
            trait_condition(Trait.SLA_TARGET),
            trait_condition(Trait.SLA_BREACH),
            Survey.score,
            Ticket.first_response_seconds,
            Ticket.resolution_seconds,
        )
        .outerjoin(Survey, Survey.ticket_id == Ticket.id)
        .where(trait_condition(Trait.REPORTED))
    )


def entry_of(row: Any, zone: ZoneInfo) -> Entry:
    """One ticket's contribution from its source row."""
    (_, created_at, stage, channel, proactive, team_id, assignee_id, *figures) = row
    reopened, target, breach, score, first_response, resolution = figures
    return Entry(
        created_at.astimezone(zone).date(),
        str(stage),
        str(channel),
        bool(proactive),
        team_id,
        assignee_id,
        bool(reopened),
        bool(target),
        bool(breach),
        score,
        first_response,
        resolution,
    )


def scopes(team_id: int | None, assignee_id: int | None) -> Iterator[tuple[int, int]]:
    """The (team, assignee) rows a ticket counts in: its own and those for any of either."""
    yield ANY, ANY
    if assignee_id:
        yield ANY, assignee_id
    if team_id:
        yield team_id, ANY
        if assignee_id:
            yield team_id, assignee_id


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["HELPDESK_TIMEZONE"])


# --- deltas, in the transaction of every change -------------------------------------------


def _read(connection: Connection, ticket_ids: Iterable[int], *, lock: bool) -> dict[int, Entry]:
    ids = sorted(set(ticket_ids))
    if not ids:
        return {}
    query = source_rows().where(Ticket.id.in_(ids))
    if lock:
        # A concurrent writer of the same ticket waits here until this transaction ends (it
        # would anyway, to update the ticket), so what is taken back is what the row holds.
        query = query.with_for_update(of=Ticket)
    zone = _zone()
    return {row[0]: entry_of(row, zone) for row in connection.execute(query)}


class _Pending:
    """The tickets one flush changes, and what they contributed before it."""

    def __init__(self, new_tickets: list[Ticket], ticket_ids: set[int]) -> None:
        self.new_tickets = new_tickets
        self.ticket_ids = ticket_ids
        self.before: dict[int, Entry] = {}


def _changed(obj: object, name: str) -> bool:
    # Never loads anything: a value set on the object shows as added whether or not the old
    # one was loaded (the old contribution is read from the row, locked, anyway).
    return bool(attributes.get_history(obj, name, attributes.PASSIVE_NO_INITIALIZE).added)


def _changed_ticket_ids(session: Session) -> set[int]:
    found = set()
    for obj in session.dirty:
        if isinstance(obj, Ticket) and any(_changed(obj, name) for name in _WATCHED):
            found.add(obj.id)
        elif isinstance(obj, Survey) and _changed(obj, "score"):
            found.add(obj.ticket_id)
    for obj in session.new:
        if isinstance(obj, Survey) and obj.score is not None:
            found.add(obj.ticket_id if obj.ticket_id is not None else obj.ticket.id)
    for obj in session.deleted:
        if isinstance(obj, Ticket | Survey):
            found.add(obj.id if isinstance(obj, Ticket) else obj.ticket_id)
    found.discard(None)
    return found


@event.listens_for(Session, "before_flush")
def _read_before(session: Session, flush_context: Any, instances: Any) -> None:
    session.info.pop(_PENDING, None)
    pending = _Pending(
        [obj for obj in session.new if isinstance(obj, Ticket)], _changed_ticket_ids(session)
    )
    if not (pending.new_tickets or pending.ticket_ids):
        return
    pending.before = _read(session.connection(), pending.ticket_ids, lock=True)
    session.info[_PENDING] = pending


@event.listens_for(Session, "after_flush")
def _insert_deltas(session: Session, flush_context: Any) -> None:
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is None:
        return
    ids = pending.ticket_ids | {ticket.id for ticket in pending.new_tickets}
    after = _read(session.connection(), ids, lock=False)
    rows = []
    for ticket_id in sorted(ids):
        old, new = pending.before.get(ticket_id), after.get(ticket_id)
        if old == new:
            continue
        if old is not None:
            rows.append({"sign": -1, **old._asdict()})
        if new is not None:
            rows.append({"sign": 1, **new._asdict()})
    if rows:
        session.connection().execute(insert(DELTAS), rows)
