"""The customer's journey drawn as lanes: one per stage, tickets placed along one time axis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from helpdesk.models import Stage, Ticket

# Markers closer than this (in percent of the axis) would overlap; the later one takes a new row.
MARKER_SPAN = 11.0
# A journey shorter than this is drawn over this much time, centred, so markers spread out.
MIN_AXIS = timedelta(days=1)
TICKS = 5


@dataclass(frozen=True, slots=True)
class Marker:
    ticket: Ticket
    x: float  # percent along the axis
    row: int  # stacked rows within the lane, so close tickets do not cover each other


@dataclass(frozen=True, slots=True)
class Lane:
    stage: Stage
    markers: tuple[Marker, ...]
    rows: int


@dataclass(frozen=True, slots=True)
class Journey:
    lanes: tuple[Lane, ...]
    ticks: tuple[tuple[float, datetime], ...]  # (percent along the axis, moment)


def lay_out(tickets: list[Ticket]) -> Journey:
    """Place every ticket on its stage's lane by when it was opened."""
    if not tickets:
        return Journey(tuple(Lane(stage, (), 1) for stage in Stage), ())
    first = min(t.created_at for t in tickets)
    last = max(t.created_at for t in tickets)
    if last - first < MIN_AXIS:
        middle = first + (last - first) / 2
        first, last = middle - MIN_AXIS / 2, middle + MIN_AXIS / 2
    span = (last - first).total_seconds()

    def x_of(moment: datetime) -> float:
        return round(100 * (moment - first).total_seconds() / span, 2)

    lanes = []
    for stage in Stage:
        on_lane = sorted((t for t in tickets if t.stage == stage), key=lambda t: t.created_at)
        markers = _stack([(t, x_of(t.created_at)) for t in on_lane])
        lanes.append(Lane(stage, markers, max((m.row for m in markers), default=0) + 1))
    ticks = tuple(
        (round(100 * i / (TICKS - 1), 2), first + (last - first) * i / (TICKS - 1))
        for i in range(TICKS)
    )
    return Journey(tuple(lanes), ticks)


def _stack(placed: list[tuple[Ticket, float]]) -> tuple[Marker, ...]:
    """Give each marker the first row where it clears the previous marker of that row."""
    row_ends: list[float] = []
    markers = []
    for ticket, x in placed:
        row = next((i for i, end in enumerate(row_ends) if x - end >= MARKER_SPAN), None)
        if row is None:
            row = len(row_ends)
            row_ends.append(x)
        else:
            row_ends[row] = x
        markers.append(Marker(ticket, x, row))
    return tuple(markers)
