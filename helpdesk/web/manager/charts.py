"""Chart geometry for the stage dashboard, drawn as plain SVG by the template.

Every chart has a y axis with round ticks and gridlines, labels under its bars and the values
written on them where they fit; the colours are the stages' (Okabe–Ito, in app.css).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from helpdesk.models import Stage

WIDTH = 1000
PLOT_LEFT = 56  # room for the y axis' numbers
PLOT_TOP = 24  # room for the value above the highest bar
PLOT_HEIGHT = 200
# Above this many days a bar stands for a week, so bars stay wide enough to read.
DAILY_UP_TO = 92
# A number is written on a segment or above a bar only where it fits (SVG units).
LABEL_MIN_WIDTH = 22
LABEL_MIN_HEIGHT = 16
MOST_TICKS = 5


@dataclass(frozen=True, slots=True)
class Plot:
    """Where the template draws axes: the plotting area's edges in SVG units."""

    left: float = PLOT_LEFT
    right: float = WIDTH
    top: float = PLOT_TOP
    base: float = PLOT_TOP + PLOT_HEIGHT


PLOT = Plot()


@dataclass(frozen=True, slots=True)
class Segment:
    stage: Stage
    count: int
    y: float
    height: float
    labelled: bool


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    first_day: date
    last_day: date
    total: int
    x: float
    width: float
    segments: tuple[Segment, ...]

    @property
    def top(self) -> float:
        return self.segments[-1].y if self.segments else PLOT_TOP + PLOT_HEIGHT

    @property
    def labelled(self) -> bool:
        return self.width >= LABEL_MIN_WIDTH


@dataclass(frozen=True, slots=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True, slots=True)
class Chart:
    """Stacked bars on a y axis; ``dated`` are the bars with a date written under them."""

    bars: list[Bar]
    ticks: list[Tick]
    dated: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.total for bar in self.bars)

    @property
    def daily(self) -> bool:
        return bool(self.bars) and self.bars[0].first_day == self.bars[0].last_day


def axis_ticks(peak: int, most: int = MOST_TICKS) -> list[int]:
    """Round values from 0 to at least ``peak``, at most ``most`` steps of 1, 2 or 5 × 10ⁿ."""
    scale = 1
    while True:
        for step in (scale, 2 * scale, 5 * scale):
            steps = max(1, -(-peak // step))
            if steps <= most:
                return [step * n for n in range(steps + 1)]
        scale *= 10


def arrival_chart(per_day: dict[date, dict[Stage, int]]) -> Chart:
    """Stacked bars of arrivals per day (per week for long ranges), on a y axis."""
    days = sorted(per_day)
    span = 1 if len(days) <= DAILY_UP_TO else 7
    groups = [days[n : n + span] for n in range(0, len(days), span)]
    totals = [_sum_stages(per_day, group) for group in groups]
    values = axis_ticks(max((sum(counts.values()) for counts in totals), default=0))
    top = values[-1]
    slot = (WIDTH - PLOT_LEFT) / max(len(groups), 1)
    bars = [
        _bar(group, counts, PLOT_LEFT + n * slot, slot, top, span)
        for n, (group, counts) in enumerate(zip(groups, totals, strict=True))
    ]
    ticks = [Tick(value, round(_y(value, top), 2)) for value in values]
    return Chart(bars, ticks, _dated(bars))


def _y(value: float, top: int) -> float:
    return PLOT_TOP + PLOT_HEIGHT - PLOT_HEIGHT * value / top


def _bar(
    group: list[date], counts: dict[Stage, int], left: float, slot: float, top: int, span: int
) -> Bar:
    width = slot * 0.8
    bottom = float(PLOT_TOP + PLOT_HEIGHT)
    segments = []
    # A bar of one stage has its number above it already.
    stacked = sum(1 for count in counts.values() if count) > 1
    for stage in Stage:
        count = counts.get(stage, 0)
        if not count:
            continue
        height = PLOT_HEIGHT * count / top
        bottom -= height
        fits = stacked and height >= LABEL_MIN_HEIGHT and width >= LABEL_MIN_WIDTH
        segments.append(Segment(stage, count, round(bottom, 2), round(height, 2), fits))
    label = f"{group[0]:%d %b}" if span == 1 else f"week of {group[0]:%d %b}"
    return Bar(
        label,
        group[0],
        group[-1],
        sum(counts.values()),
        round(left + slot * 0.1, 2),
        round(width, 2),
        tuple(segments),
    )


def _sum_stages(per_day: dict[date, dict[Stage, int]], days: list[date]) -> dict[Stage, int]:
    summed: dict[Stage, int] = {}
    for day in days:
        for stage, count in per_day[day].items():
            summed[stage] = summed.get(stage, 0) + count
    return summed


def _dated(bars: list[Bar], most: int = 8) -> list[Bar]:
    """A few evenly spread bars to print dates under."""
    if not bars:
        return []
    step = max(1, -(-len(bars) // most))
    return bars[::step]


@dataclass(frozen=True, slots=True)
class Column:
    value: int
    x: float
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class StagePair:
    """One stage's arrivals in the previous period and in this one, side by side."""

    stage: Stage
    previous: Column
    current: Column
    centre: float


@dataclass(frozen=True, slots=True)
class PairChart:
    pairs: list[StagePair]
    ticks: list[Tick]
    column_width: float


def stage_pair_chart(current: dict[Stage, int], previous: dict[Stage, int]) -> PairChart:
    """Arrivals per stage, the previous period's column beside this period's, on a y axis."""
    values = axis_ticks(max((*current.values(), *previous.values()), default=0))
    top = values[-1]
    slot = (WIDTH - PLOT_LEFT) / len(Stage)
    column_width = round(slot * 0.36, 2)
    pairs = []
    for n, stage in enumerate(Stage):
        left = PLOT_LEFT + n * slot + slot * 0.12
        pairs.append(
            StagePair(
                stage,
                _column(previous.get(stage, 0), left, top),
                _column(current.get(stage, 0), left + column_width + slot * 0.04, top),
                round(PLOT_LEFT + (n + 0.5) * slot, 2),
            )
        )
    ticks = [Tick(value, round(_y(value, top), 2)) for value in values]
    return PairChart(pairs, ticks, column_width)


def _column(value: int, left: float, top: int) -> Column:
    y = _y(value, top)
    return Column(value, round(left, 2), round(y, 2), round(PLOT_TOP + PLOT_HEIGHT - y, 2))
