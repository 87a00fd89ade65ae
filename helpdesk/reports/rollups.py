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
folds the deltas into ``stage_rollups`` every few seconds (:func:`fold_due`), one folder at a
time: it deletes the deltas it folds and rewrites the rows they touch in one transaction; it also
writes the rows for any team and any assignee, which no request ever writes. A report reads
the rollup rows and the deltas not yet folded in one statement, so it is exact at every moment
(helpdesk/reports/rollup_reads.py).

The contribution is one function, :func:`_entry`, used by the flush hook and :func:`rebuild`
alike. Changes made with bulk SQL statements (imports, the benchmark's filler) or a change of
``HELPDESK_TIMEZONE`` need ``helpdesk reports rebuild``. The backlog is "now": it is counted
from the open tickets directly (helpdesk/reports/stage_load.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from flask import current_app
from sqlalchemy import (
    Connection,
    delete,
    event,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.orm import Session, attributes

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Stage, StageDelta, StageRollup, Survey, Ticket
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
# Counts and seconds, packed little-endian in the rollup rows (ticket seconds are 32-bit
# columns: PostgreSQL's INTEGER).
VALUES = np.dtype("<i4")
_ROLLUPS = StageRollup.__table__
_DELTAS = StageDelta.__table__
_PENDING = "stage_rollups.pending"
_BATCH = 5_000
FOLD_BATCH = 20_000
# pg_advisory_xact_lock's key for the one folder (or rebuild) at a time.
_FOLD_LOCK = 0x57A6E


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


class _Key(NamedTuple):
    team_id: int
    assignee_id: int
    day: date


def _source_rows() -> Any:
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


def _entry(row: Any, zone: ZoneInfo) -> Entry:
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
    query = _source_rows().where(Ticket.id.in_(ids))
    if lock:
        # A concurrent writer of the same ticket waits here until this transaction ends (it
        # would anyway, to update the ticket), so what is taken back is what the row holds.
        query = query.with_for_update(of=Ticket)
    zone = _zone()
    return {row[0]: _entry(row, zone) for row in connection.execute(query)}


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
        session.connection().execute(insert(_DELTAS), rows)


# --- the packed rows ----------------------------------------------------------------------
#
# A rollup row is int32s, little-endian: _LAYOUT, then per combination of
# stage, channel and source (COMBOS' order) its COUNTS and how many first-response and
# resolution seconds it has, then every combination's first-response seconds (in COMBOS'
# order, each sorted), then every combination's resolution seconds alike. A row written with
# another list of stages or channels is refused (``helpdesk reports rebuild`` rewrites them).

COMBOS = tuple(
    (stage.value, channel.value, proactive)
    for stage in Stage
    for channel in Channel
    for proactive in (False, True)
)
COMBO_INDEX = {combo: n for n, combo in enumerate(COMBOS)}
FIELDS = len(COUNTS) + 2  # the counts, then how many seconds of each kind
HEADER = 1 + len(COMBOS) * FIELDS  # numbers before the seconds
# The first number: this layout's version and how many combinations it was packed for.
_LAYOUT = (2 << 16) | len(COMBOS)


@dataclass(slots=True)
class Day:
    """One rollup row unpacked: per combination its counts and its seconds of both kinds."""

    header: np.ndarray  # len(COMBOS) × FIELDS
    seconds: tuple[list[np.ndarray], list[np.ndarray]]


def unpack_day(packed: bytes | None) -> Day:
    """A rollup row's numbers to change (an empty row for None)."""
    if not packed:
        empty = [np.empty(0, dtype=VALUES)] * len(COMBOS)
        return Day(np.zeros((len(COMBOS), FIELDS), dtype=VALUES), (list(empty), list(empty)))
    header, first_responses, resolutions = split_packed(packed)
    return Day(
        header.copy(),
        tuple(  # type: ignore[arg-type]
            np.split(values, np.cumsum(header[:-1, len(COUNTS) + n]))
            for n, values in enumerate((first_responses, resolutions))
        ),
    )


def split_packed(packed: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A packed row's header and its two runs of seconds, without copying."""
    numbers = np.frombuffer(packed, dtype=VALUES)
    if numbers[0] != _LAYOUT:
        raise ValueError(
            "stage rollups packed another way or for other stages (run: reports rebuild)"
        )
    header = numbers[1:HEADER].reshape(len(COMBOS), FIELDS)
    middle = HEADER + int(header[:, len(COUNTS)].sum())
    return header, numbers[HEADER:middle], numbers[middle:]


def pack_day(day: Day) -> bytes:
    """A row's numbers packed, the seconds' counts in its header brought up to date."""
    for n, values in enumerate(day.seconds):
        day.header[:, len(COUNTS) + n] = [len(combo) for combo in values]
    head = np.array([_LAYOUT], dtype=VALUES)
    return np.concatenate((head, day.header.ravel(), *day.seconds[0], *day.seconds[1])).tobytes()


# --- folding ---------------------------------------------------------------------------------


class Change:
    """What a batch of deltas does to one rollup row, per combination."""

    __slots__ = ("added", "counts", "removed")

    def __init__(self) -> None:
        self.counts = np.zeros((len(COMBOS), len(COUNTS)), dtype=VALUES)
        self.added: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        self.removed: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))

    def take(self, sign: int, entry: Entry) -> None:
        """Add (sign 1) or take back (sign -1) one ticket's contribution."""
        combo = COMBO_INDEX[(entry.stage, entry.channel, entry.proactive)]
        scored = entry.score is not None
        figures = (1, entry.reopened, entry.with_target, entry.breached, entry.score or 0, scored)
        self.counts[combo] += [sign * int(value) for value in figures]
        values = (self.added if sign > 0 else self.removed)[combo]
        for n, seconds in enumerate((entry.first_response_seconds, entry.resolution_seconds)):
            if seconds is not None:
                values[n].append(seconds)

    def applied(self, day: Day) -> Day | None:
        """The row with this change; None when no ticket counts in it any more."""
        day.header[:, : len(COUNTS)] += self.counts
        if not day.header[:, 0].any():
            return None
        for combo in set(self.added) | set(self.removed):
            for n in range(2):
                added = self.added[combo][n] if combo in self.added else []
                removed = self.removed[combo][n] if combo in self.removed else []
                joined = np.concatenate((day.seconds[n][combo], as_values(added)))
                day.seconds[n][combo] = np.sort(without(joined, removed))
        return day


def _changes(signed: Iterable[tuple[int, Entry]]) -> dict[_Key, Change]:
    found: dict[_Key, Change] = defaultdict(Change)
    for sign, entry in signed:
        for team, assignee in scopes(entry.team_id, entry.assignee_id):
            found[_Key(team, assignee, entry.day)].take(sign, entry)
    return found


def as_values(values: list[int]) -> np.ndarray:
    """Seconds as the rollups pack them (an out-of-range value raises, never wraps)."""
    return np.asarray(values, dtype=VALUES)


def without(values: np.ndarray, removed: list[int] | np.ndarray) -> np.ndarray:
    """``values`` less ``removed``, as multisets (sorted when anything was removed)."""
    if not len(removed):
        return values
    values = np.sort(values)
    removed = np.sort(np.asarray(removed, dtype=VALUES))
    _, first, repeats = np.unique(removed, return_index=True, return_counts=True)
    # The n-th copy of a value removes the n-th occurrence of it.
    positions = (
        np.searchsorted(values, removed) + np.arange(len(removed)) - np.repeat(first, repeats)
    )
    if len(values) <= positions.max() or np.any(values[positions] != removed):
        raise ValueError("stage rollups: a value taken back was never added (rebuild them)")
    return np.delete(values, positions)


def lock_folding(connection: Connection) -> None:
    """One folder or rebuild at a time (on SQLite, the first write takes the database's lock)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_FOLD_LOCK)))


def fold(connection: Connection, batch: int = FOLD_BATCH) -> int:
    """Fold up to ``batch`` of the oldest deltas into the rollup rows; returns how many."""
    if connection.scalar(select(_DELTAS.c.id).limit(1)) is None:
        return 0  # nothing to do: no lock taken (on SQLite, no write lock every few seconds)
    lock_folding(connection)
    oldest = select(_DELTAS.c.id).order_by(_DELTAS.c.id).limit(batch).scalar_subquery()
    # Exactly the rows deleted are folded, whatever commits meanwhile.
    taken = connection.execute(
        delete(_DELTAS)
        .where(_DELTAS.c.id.in_(oldest))
        .returning(*(_DELTAS.c[name] for name in ("sign", *Entry._fields)))
    ).all()
    if taken:
        signed = ((row[0], Entry(row[1], str(row[2]), str(row[3]), *row[4:])) for row in taken)
        _apply(connection, _changes(signed))
    return len(taken)


def _apply(connection: Connection, changes: dict[_Key, Change], *, empty: bool = False) -> None:
    """Rewrite the rollup rows the changes touch (only the folder writes them); ``empty``: the
    table is known to be empty (a rebuild), so nothing is read or deleted first."""
    keys = sorted(changes)
    current: dict[_Key, bytes] = {}
    key_columns = tuple_(_ROLLUPS.c.team_id, _ROLLUPS.c.assignee_id, _ROLLUPS.c.day)
    for start in range(0, 0 if empty else len(keys), 500):
        chunk = keys[start : start + 500]
        for row in connection.execute(select(_ROLLUPS).where(key_columns.in_(chunk))):
            current[_Key(row.team_id, row.assignee_id, row.day)] = row.packed
        connection.execute(delete(_ROLLUPS).where(key_columns.in_(chunk)))
    rows = []
    for key in keys:
        day = changes[key].applied(unpack_day(current.get(key)))
        if day is not None:
            rows.append({**key._asdict(), "packed": pack_day(day)})
    for start in range(0, len(rows), _BATCH):
        connection.execute(insert(_ROLLUPS), rows[start : start + _BATCH])


def fold_due() -> int:
    """The worker's job: fold every delta waiting, a batch per transaction; returns how many."""
    total = 0
    while True:
        folded = fold(db.session.connection())
        db.session.commit()
        total += folded
        if folded < FOLD_BATCH:
            return total


def rebuild(connection: Connection, timezone: str) -> int:
    """Count every ticket again, on its local day in ``timezone`` (after an import, a bulk SQL
    change or a time-zone change); returns how many rollup rows there are."""
    lock_folding(connection)
    connection.execute(delete(_DELTAS))
    connection.execute(delete(_ROLLUPS))
    zone = ZoneInfo(timezone)
    rows = connection.execute(
        _source_rows().order_by(Ticket.created_at).execution_options(yield_per=_BATCH)
    )
    written = 0
    # A week of rows at a time: local days follow creation times, so a week's rows are done
    # once the next week starts (a million tickets' rows never sit in memory together).
    entries = (_entry(row, zone) for row in rows)
    for _, week in groupby(entries, key=lambda entry: entry.day.toordinal() // 7):
        changes = _changes((1, entry) for entry in week)
        _apply(connection, changes, empty=True)
        written += len(changes)
    return written
