"""Chart geometry for the stage dashboard, drawn as plain SVG by the template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from helpdesk.models import Stage

CHART_HEIGHT = 200
# Above this many days a bar stands for a week, so bars stay wide enough to read.
DAILY_UP_TO = 92


@dataclass(frozen=True, slots=True)
class Segment:
    stage: Stage
    count: int
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    first_day: date
    last_day: date
    total: int
    x: float
    width: float
    segments: tuple[Segment, ...]


def arrival_bars(per_day: dict[date, dict[Stage, int]], width: float = 1000) -> list[Bar]:
    """Stacked bars of arrivals per day (per week for long ranges), scaled to the chart."""
    days = sorted(per_day)
    span = 1 if len(days) <= DAILY_UP_TO else 7
    groups = [days[n : n + span] for n in range(0, len(days), span)]
    totals = [_sum_stages(per_day, group) for group in groups]
    peak = max((sum(counts.values()) for counts in totals), default=0) or 1
    slot = width / max(len(groups), 1)
    bars = []
    for n, (group, counts) in enumerate(zip(groups, totals, strict=True)):
        bottom = float(CHART_HEIGHT)
        segments = []
        for stage in Stage:
            count = counts.get(stage, 0)
            if not count:
                continue
            height = CHART_HEIGHT * count / peak
            bottom -= height
            segments.append(Segment(stage, count, round(bottom, 2), round(height, 2)))
        label = f"{group[0]:%d %b}" if span == 1 else f"week of {group[0]:%d %b}"
        bars.append(
            Bar(
                label,
                group[0],
                group[-1],
                sum(counts.values()),
                round(n * slot + slot * 0.1, 2),
                round(slot * 0.8, 2),
                tuple(segments),
            )
        )
    return bars


def _sum_stages(per_day: dict[date, dict[Stage, int]], days: list[date]) -> dict[Stage, int]:
    summed: dict[Stage, int] = {}
    for day in days:
        for stage, count in per_day[day].items():
            summed[stage] = summed.get(stage, 0) + count
    return summed


def axis_labels(bars: list[Bar], most: int = 8) -> list[Bar]:
    """A few evenly spread bars to print dates under."""
    if not bars:
        return []
    step = max(1, len(bars) // most)
    return bars[::step]
