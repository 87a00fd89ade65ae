"""The stage dashboard's daily counts, kept exact in the transaction of every change.

A ticket counts in ``stage_rollups`` on the local day it was created (in the helpdesk's time
zone), under its current stage, channel, source, team and assignee, when the reports count it
at all (not merged into another, not spam, not deleted): one arrival, and one each if it was
reopened, had an SLA target, missed one; its satisfaction answer adds its score. The same
ticket counts again in the rows where team, assignee or both are ``ANY``.

How the counts stay exact: before a flush, the rows of the tickets it changes are read back
(locked, so a concurrent writer waits) and their contribution is computed; after the flush the
rows are read again; the difference is added with one upsert (``n = n + delta``), its keys
sorted, so concurrent transactions neither lose an update nor deadlock on each other's rows.
The contribution is one function, :func:`_contribution`, used by the flush hook and by
:func:`rebuild` alike. Changes made with bulk SQL statements (imports, the benchmark's filler)
or a change of ``HELPDESK_TIMEZONE`` need ``helpdesk reports rebuild``.

The percentiles and the backlog are not here: the backlog is "now" (a direct count of open
tickets), and exact nearest-rank percentiles to the second need the values themselves
(helpdesk/reports/stage_load.py reads them from the covering report index).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Connection, delete, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, attributes

from helpdesk.models import StageRollup, Survey, Ticket
from helpdesk.models.reports import ANY
from helpdesk.tickets.queries import Trait, trait_condition

# The ticket attributes its counts depend on: a change to any of them may move it (a
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
)
COUNTS = ("arrivals", "reopened", "with_target", "breached", "csat_total", "csat_count")
KEY = ("team_id", "assignee_id", "day", "stage", "channel", "proactive")
_TABLE = StageRollup.__table__
_PENDING = "stage_rollups.pending"
_REBUILD_BATCH = 5_000


class _Key(NamedTuple):
    team_id: int
    assignee_id: int
    day: date
    stage: str
    channel: str
    proactive: bool


Counts = dict[_Key, list[int]]


def _source_rows() -> Any:
    """What a ticket's counts are made of, one row per ticket, reported tickets only."""
    return (
        select(
            Ticket.id,
            Ticket.created_at,
            Ticket.stage,
            Ticket.channel,
            Ticket.team_id,
            Ticket.assignee_id,
            Ticket.proactive,
            Ticket.reopen_count,
            Ticket.first_response_due_at.is_not(None) | Ticket.resolution_due_at.is_not(None),
            Ticket.first_response_breached_at.is_not(None)
            | Ticket.resolution_breached_at.is_not(None),
            Survey.score,
        )
        .outerjoin(Survey, Survey.ticket_id == Ticket.id)
        .where(trait_condition(Trait.REPORTED))
    )


def _contribution(row: Any, zone: ZoneInfo, into: Counts, sign: int) -> None:
    """Add (sign 1) or take away (sign -1) one ticket's counts in every row it counts in."""
    (_, created_at, stage, channel, team_id, assignee_id, proactive) = row[:7]
    reopens, target, breach, score = row[7:]
    day = created_at.astimezone(zone).date()
    figures = (
        1,
        1 if reopens else 0,
        1 if target else 0,
        1 if breach else 0,
        score or 0,
        0 if score is None else 1,
    )
    for team, assignee in _scopes(team_id, assignee_id):
        counts = into[_Key(team, assignee, day, stage, channel, bool(proactive))]
        for n, value in enumerate(figures):
            counts[n] += sign * value


def _scopes(team_id: int | None, assignee_id: int | None) -> Iterator[tuple[int, int]]:
    yield ANY, ANY
    if assignee_id:
        yield ANY, assignee_id
    if team_id:
        yield team_id, ANY
        if assignee_id:
            yield team_id, assignee_id


def _new_counts() -> Counts:
    return defaultdict(lambda: [0] * len(COUNTS))


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["HELPDESK_TIMEZONE"])


def _read(connection: Connection, ticket_ids: Iterable[int], *, lock: bool) -> list[Any]:
    ids = sorted(set(ticket_ids))
    if not ids:
        return []
    query = _source_rows().where(Ticket.id.in_(ids)).order_by(Ticket.id)
    if lock:
        # A concurrent writer of the same ticket waits here until this transaction ends, so
        # what is taken away is what the row holds when this flush overwrites it.
        query = query.with_for_update(of=Ticket)
    return list(connection.execute(query))


def _row(key: _Key, values: list[int]) -> dict[str, Any]:
    return {**key._asdict(), **dict(zip(COUNTS, values, strict=True))}


def _apply(connection: Connection, counts: Counts) -> None:
    """Add the non-zero differences, keys in one sorted order (the global lock order)."""
    rows = [_row(key, values) for key, values in sorted(counts.items()) if any(values)]
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_TABLE).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={name: _TABLE.c[name] + statement.excluded[name] for name in COUNTS},
    )
    connection.execute(statement)


# --- keeping them exact -----------------------------------------------------------------------


class _Pending:
    """The tickets one flush changes, and what they counted before it."""

    def __init__(self) -> None:
        self.new_tickets: list[Ticket] = []
        self.ticket_ids: set[int] = set()
        self.before: Counts = _new_counts()


def _changed(obj: object, name: str) -> bool:
    # Never loads anything: a value set on the object shows as added whether or not the old
    # one was loaded (the old one is read from the row, locked, anyway).
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
    return found


@event.listens_for(Session, "before_flush")
def _count_before(session: Session, flush_context: Any, instances: Any) -> None:
    pending = _Pending()
    pending.new_tickets = [obj for obj in session.new if isinstance(obj, Ticket)]
    pending.ticket_ids = _changed_ticket_ids(session)
    session.info.pop(_PENDING, None)
    if not (pending.new_tickets or pending.ticket_ids):
        return
    zone = _zone()
    for row in _read(session.connection(), pending.ticket_ids, lock=True):
        _contribution(row, zone, pending.before, -1)
    session.info[_PENDING] = pending


@event.listens_for(Session, "after_flush")
def _count_after(session: Session, flush_context: Any) -> None:
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is None:
        return
    zone = _zone()
    ids = pending.ticket_ids | {ticket.id for ticket in pending.new_tickets}
    counts = pending.before
    for row in _read(session.connection(), ids, lock=False):
        _contribution(row, zone, counts, 1)
    _apply(session.connection(), counts)


# --- rebuilding -------------------------------------------------------------------------------


def rebuild(connection: Connection, timezone: str) -> int:
    """Count every ticket again, on its local day in ``timezone`` (after an import or a
    time-zone change); returns how many rows the table holds."""
    connection.execute(delete(_TABLE))
    zone = ZoneInfo(timezone)
    counts = _new_counts()
    for row in connection.execute(_source_rows().execution_options(yield_per=_REBUILD_BATCH)):
        _contribution(row, zone, counts, 1)
    rows = [_row(key, values) for key, values in sorted(counts.items())]
    for start in range(0, len(rows), _REBUILD_BATCH):
        connection.execute(insert(_TABLE), rows[start : start + _REBUILD_BATCH])
    return len(rows)
