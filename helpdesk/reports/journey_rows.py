"""The journey flow's packed daily rows: folding the deltas that journey_rollups.py records
into them, rebuilding them from the tickets, and reading a range's flow from them (numpy, so
loaded only by the worker's job, the reports and the commands that rebuild)."""

from __future__ import annotations

from array import array
from collections import defaultdict
from datetime import date
from itertools import groupby
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    String,
    cast,
    delete,
    null,
    select,
    type_coerce,
    union_all,
)

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import JourneyRollup, Stage, Ticket
from helpdesk.models.reports import ANY
from helpdesk.reports.journey_rollups import (
    DELTAS,
    SAME_CHANNEL,
    SAME_SOURCE,
    Step,
    customer_steps,
    visit_rows,
)
from helpdesk.reports.rollup_reads import Narrowing
from helpdesk.reports.rollup_rows import (
    VALUES,
    as_values,
    fold_every,
    lock_folding,
    rewrite_rows,
    without,
)

_GAP_BITS = 10
_STAGES = {stage.value: n for n, stage in enumerate(Stage)}
_CHANNELS = {channel.value: n for n, channel in enumerate(Channel)}
_PAIRS = len(Stage) ** 2
# The first number of a packed row: this layout's version, and the stages and channels it
# was packed for.
_LAYOUT = (1 << 24) | (len(Stage) << 8) | len(Channel)
_ROLLUPS = JourneyRollup.__table__
_BATCH = 5_000
FOLD_BATCH = 20_000


class _RowKey(NamedTuple):
    team_id: int
    assignee_id: int
    chain: int
    day: date


# --- the packed rows ----------------------------------------------------------------------
#
# A row is int32s, little-endian: _LAYOUT, then one number per step, sorted: the step's
# channel, source, previous and own stage, then its gap in days in the low _GAP_BITS.


def _packed_step(step: Step) -> int:
    combo = _CHANNELS[step.channel] * 2 + step.proactive
    pair = _STAGES[step.earlier_stage] * len(Stage) + _STAGES[step.stage]
    return ((combo * _PAIRS + pair) << _GAP_BITS) | (step.day - step.earlier_day).days


def _unpack(packed: bytes | None) -> np.ndarray:
    if not packed:
        return np.empty(0, dtype=VALUES)
    numbers = np.frombuffer(packed, dtype=VALUES)
    if numbers[0] != _LAYOUT:
        raise ValueError("journey rollups packed another way (run: reports rebuild)")
    return numbers[1:]


def _pack(steps: np.ndarray) -> bytes:
    return np.concatenate((np.array([_LAYOUT], dtype=VALUES), steps)).tobytes()


# --- folding ---------------------------------------------------------------------------------


def fold(connection: Connection, batch: int = FOLD_BATCH) -> int:
    """Fold up to ``batch`` of the oldest deltas into the rows; returns how many."""
    if connection.scalar(select(DELTAS.c.id).limit(1)) is None:
        return 0
    lock_folding(connection)
    oldest = select(DELTAS.c.id).order_by(DELTAS.c.id).limit(batch).scalar_subquery()
    taken = connection.execute(
        delete(DELTAS)
        .where(DELTAS.c.id.in_(oldest))
        .returning(*(DELTAS.c[name] for name in ("sign", *Step._fields)))
    ).all()
    changes: dict[_RowKey, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for sign, *fields in taken:
        step = Step(*fields)
        step = step._replace(
            channel=str(step.channel), stage=str(step.stage), earlier_stage=str(step.earlier_stage)
        )
        changes[_RowKey(*step[:4])][sign < 0].append(_packed_step(step))
    _apply(connection, changes)
    return len(taken)


def _apply(
    connection: Connection, changes: dict[_RowKey, tuple[Any, Any]], *, empty: bool = False
) -> None:
    """Rewrite the rows the changes (steps added, steps taken back) touch."""

    def changed(key: _RowKey, packed: bytes | None) -> bytes | None:
        added, removed = changes[key]
        joined = np.concatenate((_unpack(packed), as_values(added)))
        steps = np.sort(without(joined, removed))
        return _pack(steps) if len(steps) else None

    rewrite_rows(connection, _ROLLUPS, sorted(changes), changed, empty=empty)


def fold_due() -> int:
    """The worker's job: fold every delta waiting, a batch per transaction; returns how many."""
    return fold_every(fold, FOLD_BATCH)


def rebuild(connection: Connection, timezone: str) -> int:
    """Work out every customer's steps again, on local days in ``timezone``; returns how many
    rows there are."""
    lock_folding(connection)
    connection.execute(delete(DELTAS))
    connection.execute(delete(_ROLLUPS))
    zone = ZoneInfo(timezone)
    rows = connection.execute(
        visit_rows()
        .order_by(Ticket.customer_id, Ticket.created_at, Ticket.id)
        .execution_options(yield_per=_BATCH)
    )
    changes: dict[_RowKey, tuple[array, tuple[()]]] = defaultdict(lambda: (array("i"), ()))
    for _, visits in groupby(rows, key=lambda row: row[0]):
        for step in customer_steps(visits, zone):
            changes[_RowKey(*step[:4])][0].append(_packed_step(step))
    _apply(connection, changes, empty=True)
    return len(changes)


# --- reading ---------------------------------------------------------------------------------


def _rows(narrowing: Narrowing, chain: int) -> Any:
    """The range's rows of the chain its filters read, and the deltas not yet folded that
    count in it, in one statement: one snapshot, whatever the folder commits meanwhile."""
    rollup, delta = _ROLLUPS.c, DELTAS.c
    team, assignee = narrowing.team_id or ANY, narrowing.agent_id or ANY
    delta_where = [
        delta.team_id == team,
        delta.assignee_id == assignee,
        delta.chain == chain,
        delta.day >= narrowing.first_day,
        delta.day <= narrowing.last_day,
        delta.earlier_day >= narrowing.first_day,
    ]
    if narrowing.channel:
        delta_where.append(delta.channel == narrowing.channel)
    if narrowing.proactive is not None:
        delta_where.append(delta.proactive.is_(narrowing.proactive))
    return db.session.connection().execute(
        union_all(
            select(
                rollup.day,
                rollup.packed,
                cast(null(), Integer),
                cast(null(), String),
                cast(null(), String),
            ).where(
                rollup.team_id == team,
                rollup.assignee_id == assignee,
                rollup.chain == chain,
                rollup.day >= narrowing.first_day,
                rollup.day <= narrowing.last_day,
            ),
            select(
                delta.day,
                cast(null(), LargeBinary),
                cast(delta.sign, Integer),
                type_coerce(delta.earlier_stage, String),
                type_coerce(delta.stage, String),
            ).where(*delta_where),
        )
    )


def flow(narrowing: Narrowing) -> dict[tuple[str, str], int]:
    """(previous stage, next stage) → how many of the range's steps went so, as its filters
    see them."""
    chain = (SAME_CHANNEL if narrowing.channel else 0) | (
        SAME_SOURCE if narrowing.proactive is not None else 0
    )
    counts = np.zeros(_PAIRS, dtype=np.int64)
    runs, reach = [], []
    for day, packed, sign, earlier_stage, stage in _rows(narrowing, chain):
        if packed is not None:
            runs.append(_unpack(packed))
            reach.append((day - narrowing.first_day).days)
        else:
            counts[_STAGES[earlier_stage] * len(Stage) + _STAGES[stage]] += sign
    if runs:
        steps = np.concatenate(runs)
        # A step counts when its previous request is on the range's first day or later.
        counted = (steps & ((1 << _GAP_BITS) - 1)) <= np.repeat(reach, [len(run) for run in runs])
        combo = (steps >> _GAP_BITS) // _PAIRS
        if narrowing.channel:
            counted &= combo // 2 == _CHANNELS[narrowing.channel]
        if narrowing.proactive is not None:
            counted &= combo % 2 == int(narrowing.proactive)
        counts += np.bincount((steps[counted] >> _GAP_BITS) % _PAIRS, minlength=_PAIRS)
    stages = list(Stage)
    return {
        (stages[pair // len(Stage)].value, stages[pair % len(Stage)].value): int(counts[pair])
        for pair in np.flatnonzero(counts)
    }
