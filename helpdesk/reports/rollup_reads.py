"""Reading the stage dashboard's rollups (kept by helpdesk/reports/rollups.py and
rollup_rows.py): a range's daily rows and the deltas not yet folded, read in one statement, so
the figures are exact at every moment whatever the folder commits meanwhile."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    cast,
    func,
    null,
    select,
    type_coerce,
    union_all,
)

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Stage, StageDelta, StageRollup
from helpdesk.models.reports import ANY
from helpdesk.reports.rollup_rows import (
    COMBO_INDEX,
    COMBOS,
    FIELDS,
    HEADER,
    VALUES,
    Change,
    pack_day,
    split_packed,
    unpack_day,
)
from helpdesk.reports.rollups import COUNTS, Entry


class Narrowing(NamedTuple):
    """The local days and filters of a report, as the rollups read them."""

    first_day: date
    last_day: date
    channel: str | None = None
    agent_id: int | None = None
    team_id: int | None = None
    proactive: bool | None = None

    def combos(self) -> np.ndarray:
        """Whether each combination of stage, channel and source is counted."""
        return np.array(
            [
                self.channel in (None, channel) and self.proactive in (None, proactive)
                for _, channel, proactive in COMBOS
            ]
        )


@dataclass(slots=True)
class Figures:
    """One stage on one channel: its summed counts and the seconds behind its percentiles."""

    counts: list[int]
    proactive_arrivals: int
    first_responses: np.ndarray
    resolutions: np.ndarray


def _rows(narrowing: Narrowing, packed: Any) -> Any:
    """The rollup rows of the range (``packed``: what of them to read) and the deltas not yet
    folded, in one statement: one snapshot, whatever the folder commits meanwhile."""
    rollup, delta = StageRollup.__table__.c, StageDelta.__table__.c
    delta_where = [delta.day >= narrowing.first_day, delta.day <= narrowing.last_day]
    if narrowing.team_id:
        delta_where.append(delta.team_id == narrowing.team_id)
    if narrowing.agent_id:
        delta_where.append(delta.assignee_id == narrowing.agent_id)
    if narrowing.channel:
        delta_where.append(delta.channel == narrowing.channel)
    if narrowing.proactive is not None:
        delta_where.append(delta.proactive.is_(narrowing.proactive))
    no_number = cast(null(), Integer)
    return db.session.connection().execute(
        union_all(
            select(
                rollup.day,
                packed,
                *(cast(null(), String) for _ in range(2)),
                *(no_number for _ in range(8)),
            ).where(
                rollup.team_id == (narrowing.team_id or ANY),
                rollup.assignee_id == (narrowing.agent_id or ANY),
                rollup.day >= narrowing.first_day,
                rollup.day <= narrowing.last_day,
            ),
            select(
                delta.day,
                cast(null(), LargeBinary),
                type_coerce(delta.stage, String),
                type_coerce(delta.channel, String),
                # Flags as numbers: PostgreSQL unites a column's types only when they agree.
                *(
                    cast(flag, Integer)
                    for flag in (delta.proactive, delta.sign, delta.reopened, delta.with_target)
                ),
                cast(delta.breached, Integer),
                delta.score,
                delta.first_response_seconds,
                delta.resolution_seconds,
            ).where(*delta_where),
        )
    )


def figures(narrowing: Narrowing) -> dict[tuple[str, str], Figures]:
    """The figures of every stage and channel with tickets in the range."""
    packed: dict[date, bytes] = {}
    changes: dict[date, Change] = defaultdict(Change)
    for row in _rows(narrowing, StageRollup.__table__.c.packed):
        if row[1] is not None:
            packed[row[0]] = row[1]
        else:
            stage, channel, proactive, sign, *rest = row[2:]
            entry = Entry(
                row[0], stage, channel, bool(proactive), None, None, *map(bool, rest[:3]), *rest[3:]
            )
            changes[row[0]].take(sign, entry)
    # The deltas not yet folded change their own day's row only: a few small rows to redo.
    for day, change in changes.items():
        applied = change.applied(unpack_day(packed.get(day)))
        if applied is None:
            packed.pop(day, None)
        else:
            packed[day] = pack_day(applied)
    parts = [split_packed(blob) for blob in packed.values()]
    headers = (
        np.stack([header for header, _, _ in parts])
        if parts
        else np.zeros((0, len(COMBOS), FIELDS), dtype=VALUES)
    )
    counts = headers[:, :, : len(COUNTS)].sum(axis=0)
    per_combo = [_by_combo(headers, [part[1 + n] for part in parts], n) for n in range(2)]
    counted = narrowing.combos()
    found = {}
    for stage in Stage:
        for channel in Channel:
            combos = [
                COMBO_INDEX[(stage.value, channel.value, proactive)]
                for proactive in (False, True)
                if counted[COMBO_INDEX[(stage.value, channel.value, proactive)]]
            ]
            summed = counts[combos].sum(axis=0)
            if not summed[0]:
                continue
            found[(stage.value, channel.value)] = Figures(
                [int(value) for value in summed],
                sum(int(counts[combo][0]) for combo in combos if COMBOS[combo][2]),
                *(np.concatenate([per_combo[n][combo] for combo in combos]) for n in range(2)),
            )
    return found


def _by_combo(headers: np.ndarray, runs: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Each combination's seconds of kind ``n`` over every row."""
    joined = np.concatenate(runs) if runs else np.empty(0, dtype=VALUES)
    lengths = headers[:, :, len(COUNTS) + n]
    # Each row's runs are in combination order: a stable sort by combination gathers them.
    combo_of = np.repeat(
        np.tile(np.arange(len(COMBOS), dtype=np.int16), len(headers)), lengths.ravel()
    )
    ordered = joined[np.argsort(combo_of, kind="stable")]
    return np.split(ordered, np.cumsum(lengths.sum(axis=0))[:-1])


def arrivals_per_day(narrowing: Narrowing) -> dict[tuple[date, str], int]:
    """Tickets created on each local day, by stage (those with none left out)."""
    counted = narrowing.combos()
    found: dict[tuple[date, str], int] = defaultdict(int)
    # Only the header of each row is read: the counts, not the seconds.
    for row in _rows(
        narrowing,
        func.substr(StageRollup.__table__.c.packed, 1, HEADER * VALUES.itemsize),
    ):
        if row[1] is not None:
            numbers = np.frombuffer(row[1], dtype=VALUES)
            arrivals = numbers[1:HEADER].reshape(len(COMBOS), FIELDS)[:, 0] * counted
            for stage, count in zip(
                Stage, arrivals.reshape(len(Stage), -1).sum(axis=1), strict=True
            ):
                if count:
                    found[(row[0], stage.value)] += int(count)
        else:
            found[(row[0], row[2])] += row[5]
    return {key: count for key, count in found.items() if count}
