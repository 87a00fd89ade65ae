"""The stage dashboard's rollup rows: how they are packed, the deltas folded into them, and
their rebuild from the tickets.

The deltas themselves are written in the transaction of every change, by the session hooks of
helpdesk/reports/rollups.py; the worker folds them in here (:func:`fold_due`), one folder at a
time. Kept apart from those hooks so that a process that only writes tickets (a mail intake)
never loads numpy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, Table, delete, func, insert, select, tuple_

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Stage, StageRollup, Ticket
from helpdesk.reports.rollups import COUNTS, DELTAS, Entry, entry_of, scopes, source_rows

# Counts and seconds, packed little-endian in the rollup rows (ticket seconds are 32-bit
# columns: PostgreSQL's INTEGER).
VALUES = np.dtype("<i4")
_ROLLUPS = StageRollup.__table__
_BATCH = 5_000
FOLD_BATCH = 20_000
# pg_advisory_xact_lock's key for the one folder (or rebuild) at a time.
_FOLD_LOCK = 0x57A6E


class _Key(NamedTuple):
    team_id: int
    assignee_id: int
    day: date


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
    if connection.scalar(select(DELTAS.c.id).limit(1)) is None:
        return 0  # nothing to do: no lock taken (on SQLite, no write lock every few seconds)
    lock_folding(connection)
    oldest = select(DELTAS.c.id).order_by(DELTAS.c.id).limit(batch).scalar_subquery()
    # Exactly the rows deleted are folded, whatever commits meanwhile.
    taken = connection.execute(
        delete(DELTAS)
        .where(DELTAS.c.id.in_(oldest))
        .returning(*(DELTAS.c[name] for name in ("sign", *Entry._fields)))
    ).all()
    if taken:
        signed = ((row[0], Entry(row[1], str(row[2]), str(row[3]), *row[4:])) for row in taken)
        _apply(connection, _changes(signed))
    return len(taken)


def _apply(connection: Connection, changes: dict[_Key, Change], *, empty: bool = False) -> None:
    """Rewrite the rollup rows the changes touch (only the folder writes them)."""

    def changed(key: _Key, packed: bytes | None) -> bytes | None:
        day = changes[key].applied(unpack_day(packed))
        return None if day is None else pack_day(day)

    rewrite_rows(connection, _ROLLUPS, sorted(changes), changed, empty=empty)


def rewrite_rows(
    connection: Connection,
    table: Table,
    keys: list[Any],
    changed: Callable[[Any, bytes | None], bytes | None],
    *,
    empty: bool = False,
) -> None:
    """Replace the packed rows of ``table`` at ``keys`` (named tuples of its key columns) by
    what ``changed`` makes of each (None: the row goes); ``empty``: the table is known to be
    empty (a rebuild), so nothing is read or deleted first."""
    if not keys:
        return
    names = keys[0]._fields
    key_columns = tuple_(*(table.c[name] for name in names))
    current: dict[Any, bytes] = {}
    for start in range(0, 0 if empty else len(keys), 500):
        chunk = keys[start : start + 500]
        for row in connection.execute(select(table).where(key_columns.in_(chunk))):
            current[type(keys[0])(*(row._mapping[name] for name in names))] = row.packed
        connection.execute(delete(table).where(key_columns.in_(chunk)))
    rows = []
    for key in keys:
        packed = changed(key, current.get(key))
        if packed is not None:
            rows.append({**key._asdict(), "packed": packed})
    for start in range(0, len(rows), _BATCH):
        connection.execute(insert(table), rows[start : start + _BATCH])


def fold_due() -> int:
    """The worker's job: fold every delta waiting, a batch per transaction; returns how many."""
    return fold_every(fold, FOLD_BATCH)


def fold_every(fold_batch: Callable[[Connection], int], batch: int) -> int:
    """Call ``fold_batch`` and commit until it folds fewer than ``batch``; returns how many."""
    total = 0
    while True:
        folded = fold_batch(db.session.connection())
        db.session.commit()
        total += folded
        if folded < batch:
            return total


def rebuild(connection: Connection, timezone: str) -> int:
    """Count every ticket again, on its local day in ``timezone`` (after an import, a bulk SQL
    change or a time-zone change); returns how many rollup rows there are."""
    lock_folding(connection)
    connection.execute(delete(DELTAS))
    connection.execute(delete(_ROLLUPS))
    zone = ZoneInfo(timezone)
    rows = connection.execute(
        source_rows().order_by(Ticket.created_at).execution_options(yield_per=_BATCH)
    )
    written = 0
    # A week of rows at a time: local days follow creation times, so a week's rows are done
    # once the next week starts (a million tickets' rows never sit in memory together).
    entries = (entry_of(row, zone) for row in rows)
    for _, week in groupby(entries, key=lambda entry: entry.day.toordinal() // 7):
        changes = _changes((1, entry) for entry in week)
        _apply(connection, changes, empty=True)
        written += len(changes)
    return written
