"""The service load per journey stage: what the manager dashboard, its CSV and the API show.

Figures for a range count tickets *created* in it (inclusive local dates in the helpdesk's time
zone), grouped by their current ``stage`` and channel; the backlog is what is open now,
whatever the range. Times are calendar seconds; percentiles are by nearest rank (the value at
rank ceil(p × n) of the sorted values), so SQLite and PostgreSQL give the same answer. Every
figure is backed by a queue filter (``drill_down``) that lists exactly the tickets behind it.
Each range is compared with the previous period: as many days, just before it (``compare``).
The table and arrivals per day are read from the daily rollups (helpdesk/reports/rollups.py),
the journey flow from its own (helpdesk/reports/journey_rollups.py); the same figures counted
from the tickets are in helpdesk/reports/stage_direct.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

import numpy as np
from sqlalchemy import ColumnElement, case, func, select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Stage, Ticket, TicketStatus, utcnow
from helpdesk.reports import journey_rows, rollup_reads, rollup_rows
from helpdesk.reports.sql import unindexed
from helpdesk.tickets.bins import Bin, bin_condition
from helpdesk.tickets.queries import (
    InvalidFilter,
    Trait,
    parse_date,
    start_of_day,
    trait_condition,
)

OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
DEFAULT_DAYS = 30
MAX_DAYS = 731
PERCENTILES = {"median": 50, "p90": 90}
# Backlog ages: (label, upper bound in days; None = no bound).
AGE_BUCKETS = (("< 1 day", 1), ("1–3 days", 3), ("3–7 days", 7), ("1–4 weeks", 28), ("older", None))
# The figures compared with the previous period (the backlog is "now": it has no previous value).
COMPARED = (
    "arrivals",
    "reactive_arrivals",
    "proactive_arrivals",
    "first_response_median_s",
    "first_response_p90_s",
    "resolution_median_s",
    "reopen_rate",
    "sla_breach_rate",
    "csat",
)
RATES = ("reopen_rate", "sla_breach_rate")
# What the hot spots line weighs: arrivals in tickets, the breach rate in percentage points.
HOT_SPOT_FIGURES = ("arrivals", "sla_breach_rate")
HOT_SPOTS = 3


class Source(StrEnum):
    """Who started the tickets a report counts: the customer (reactive) or we (proactive)."""

    REACTIVE = "reactive"
    PROACTIVE = "proactive"


@dataclass(frozen=True, slots=True)
class Preset:
    """A named range of days ending today, offered beside the from/to fields."""

    name: str
    label: str
    first_day: date
    last_day: date


def presets(today: date) -> list[Preset]:
    """Today, the last 7 and 30 days, this month and this quarter, each up to today."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return [
        Preset("today", "Today", today, today),
        Preset("7d", "Last 7 days", today - timedelta(days=6), today),
        Preset("30d", "Last 30 days", today - timedelta(days=29), today),
        Preset("month", "This month", today.replace(day=1), today),
        Preset("quarter", "This quarter", quarter_start, today),
    ]


@dataclass(frozen=True, slots=True)
class ReportRange:
    """Which tickets a report looks at: created on these local days, optionally narrowed."""

    first_day: date
    last_day: date
    timezone: str = "UTC"
    channel: Channel | None = None
    agent_id: int | None = None
    team_id: int | None = None
    source: Source | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str], timezone: str, today: date) -> ReportRange:
        """Read ``from``, ``to``, ``channel``, ``agent``, ``team`` and ``source``; the last 30
        days by default."""
        last = parse_date(args.get("to"), "to") or today
        first = parse_date(args.get("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise InvalidFilter("from must be on or before to")
        if (last - first).days >= MAX_DAYS:
            raise InvalidFilter(f"a report covers at most {MAX_DAYS} days")
        channel = args.get("channel") or None
        agent = args.get("agent") or None
        team = args.get("team") or None
        source = args.get("source") or None
        try:
            return cls(
                first,
                last,
                timezone,
                Channel(channel) if channel else None,
                _row_id(agent),
                _row_id(team),
                Source(source) if source else None,
            )
        except ValueError:
            raise InvalidFilter(
                "channel must be email, sms or chat; agent a user id; team a team id; "
                "source reactive or proactive"
            ) from None

    def args(self) -> dict[str, str]:
        """The query parameters that read back as this range."""
        found = {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "channel": self.channel.value if self.channel else None,
            "agent": str(self.agent_id) if self.agent_id else None,
            "team": str(self.team_id) if self.team_id else None,
            "source": self.source.value if self.source else None,
        }
        return {name: value for name, value in found.items() if value}

    def previous(self) -> ReportRange:
        """The same number of days just before this range, narrowed alike."""
        length = timedelta(days=len(self.days))
        return replace(self, first_day=self.first_day - length, last_day=self.last_day - length)

    def preset(self, today: date) -> str | None:
        """The name of the preset this range is, if any."""
        for preset in presets(today):
            if (preset.first_day, preset.last_day) == (self.first_day, self.last_day):
                return preset.name
        return None

    @property
    def start(self) -> datetime:
        return start_of_day(self.first_day, self.timezone)

    @property
    def end(self) -> datetime:
        return start_of_day(self.last_day + timedelta(days=1), self.timezone)

    @property
    def days(self) -> list[date]:
        return [
            self.first_day + timedelta(days=n)
            for n in range((self.last_day - self.first_day).days + 1)
        ]

    def narrowing(self, *, backlog: bool = False) -> list[ColumnElement[bool]]:
        """The channel, agent, team and source conditions (the backlog ignores the dates); never
        a spam or deleted ticket. For the ``backlog`` (open tickets now), read from the
        backlog's index alone: SQLite's planner would rather walk an agent's or a team's own
        index and read every one of their tickets, open or not, from the table."""
        person = unindexed if backlog else (lambda column: column)
        found = [bin_condition(Bin.ACTIVE)]
        if self.channel:
            found.append(Ticket.channel == self.channel)
        if self.agent_id:
            found.append(person(Ticket.assignee_id) == self.agent_id)
        if self.team_id:
            found.append(person(Ticket.team_id) == self.team_id)
        if self.source:
            found.append(trait_condition(Trait(self.source.value)))
        return found

    def narrowed(self) -> rollup_reads.Narrowing:
        """The days and filters as the rollups read them."""
        proactive = None if self.source is None else self.source == Source.PROACTIVE
        channel = self.channel.value if self.channel else None
        return rollup_reads.Narrowing(
            self.first_day, self.last_day, channel, self.agent_id, self.team_id, proactive
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """Tickets created in the range, narrowed; never one merged into another (its
        conversation counts on the ticket it joined, and its survey not at all)."""
        return [
            Ticket.created_at >= self.start,
            Ticket.created_at < self.end,
            trait_condition(Trait.REPORTED),
            *self.narrowing(),
        ]


@dataclass(slots=True)
class Cell:
    """The figures of one stage on one channel (``stage`` None: all stages; ``channel`` None:
    all channels)."""

    arrivals: int = 0
    proactive_arrivals: int = 0
    backlog: int = 0
    reopened: int = 0
    with_target: int = 0
    breached: int = 0
    first_response_median_s: int | None = None
    first_response_p90_s: int | None = None
    resolution_median_s: int | None = None
    csat_total: int = 0
    csat_count: int = 0

    @property
    def reactive_arrivals(self) -> int:
        return self.arrivals - self.proactive_arrivals

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.arrivals if self.arrivals else None

    @property
    def sla_breach_rate(self) -> float | None:
        return self.breached / self.with_target if self.with_target else None

    @property
    def csat(self) -> float | None:
        return round(self.csat_total / self.csat_count, 2) if self.csat_count else None

    def add(self, other: Cell) -> None:
        """Add another channel's counts (percentiles are not additive; they are queried)."""
        for name in (
            "arrivals",
            "proactive_arrivals",
            "backlog",
            "reopened",
            "with_target",
            "breached",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.csat_total += other.csat_total
        self.csat_count += other.csat_count


@dataclass(slots=True)
class StageLoad:
    """Every stage on every channel and in total, for one range."""

    range: ReportRange
    cells: dict[tuple[Stage, Channel | None], Cell] = field(default_factory=dict)
    # All stages together, per channel and (None) over all channels.
    totals: dict[Channel | None, Cell] = field(default_factory=dict)

    def cell(self, stage: Stage | None, channel: Channel | None = None) -> Cell:
        """One stage's cell, or with ``stage`` None the all-stages total."""
        return self.cells[(stage, channel)] if stage else self.totals[channel]

    def rows(self) -> list[dict]:
        """One row per stage and channel, zeros included: the API's shape."""
        return [
            {"stage": stage.value, "channel": channel.value, **figures(self.cell(stage, channel))}
            for stage in Stage
            for channel in Channel
        ]


@dataclass(frozen=True, slots=True)
class Change:
    """One figure against the previous period: its value then, and now minus then (percentage
    points for rates); ``delta`` None when either period has no value."""

    previous: float | None
    delta: float | None


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A stage whose arrivals or SLA breach rate moved most against the previous period."""

    stage: Stage
    figure: str
    previous: float
    current: float
    delta: float  # tickets, or percentage points for the breach rate


@dataclass(slots=True)
class Comparison:
    """A range's figures beside those of the previous period."""

    current: StageLoad
    previous: StageLoad

    def change(self, name: str, stage: Stage | None, channel: Channel | None = None) -> Change:
        """How one figure of one cell moved since the previous period."""
        now = getattr(self.current.cell(stage, channel), name)
        before = getattr(self.previous.cell(stage, channel), name)
        if now is None or before is None:
            return Change(before, None)
        if name in RATES:
            return Change(before, round((now - before) * 100, 1))
        return Change(before, round(now - before, 2))

    def hot_spots(self, most: int = HOT_SPOTS) -> list[HotSpot]:
        """The stages whose arrivals (in tickets) or breach rate (in percentage points) moved
        most, each by its larger move, biggest first; stages that did not move are left out."""
        found = []
        for stage in Stage:
            moves = [self._hot_spot(stage, name) for name in HOT_SPOT_FIGURES]
            moves = [move for move in moves if move is not None]
            if moves:
                found.append(max(moves, key=lambda move: abs(move.delta)))
        # sorted() keeps stage order among equal moves.
        return sorted(found, key=lambda move: -abs(move.delta))[:most]

    def _hot_spot(self, stage: Stage, name: str) -> HotSpot | None:
        change = self.change(name, stage)
        if not change.delta:
            return None
        current = getattr(self.current.cell(stage), name)
        return HotSpot(stage, name, change.previous, current, change.delta)

    def table(self) -> list[dict]:
        """The CSV: every stage and all stages, on every channel and all channels, with the
        previous period's figures beside (the backlog is now, so it has none)."""
        rows = []
        for stage in (*Stage, None):
            for channel in (*Channel, None):
                previous = figures(self.previous.cell(stage, channel))
                rows.append(
                    {
                        "stage": stage.value if stage else "all",
                        "channel": channel.value if channel else "all",
                        **figures(self.current.cell(stage, channel)),
                        **{f"previous_{name}": previous[name] for name in COMPARED},
                    }
                )
        return rows


def figures(cell: Cell) -> dict:
    """A cell's published figures, by their API names."""
    return {
        "arrivals": cell.arrivals,
        "reactive_arrivals": cell.reactive_arrivals,
        "proactive_arrivals": cell.proactive_arrivals,
        "backlog": cell.backlog,
        "first_response_median_s": cell.first_response_median_s,
        "first_response_p90_s": cell.first_response_p90_s,
        "resolution_median_s": cell.resolution_median_s,
        "reopen_rate": _rounded(cell.reopen_rate),
        "sla_breach_rate": _rounded(cell.sla_breach_rate),
        "csat": cell.csat,
        "csat_count": cell.csat_count,
    }


def compare(report: ReportRange) -> Comparison:
    """The figures of a range and of the previous period (whose backlog, "now", is the same)."""
    current = stage_load(report)
    return Comparison(current, assembled(report.previous(), _from_rollups, backlog_of=current))


# First-response and resolution seconds per stage and channel, as a filler hands them over.
Seconds = dict[tuple[Stage, Channel], tuple[np.ndarray, np.ndarray]]


def stage_load(report: ReportRange) -> StageLoad:
    """Every figure of the stage table for one range (from the rollups)."""
    return assembled(report, _from_rollups)


def assembled(
    report: ReportRange,
    fill: Callable[[StageLoad], Seconds],
    backlog_of: StageLoad | None = None,
) -> StageLoad:
    """The stage table from a filler that sets each stage's and channel's counts and returns
    their seconds; the backlog (now, or as ``backlog_of`` counted it), totals and percentiles
    are the same whatever fills."""
    load = StageLoad(report)
    for channel in (*Channel, None):
        load.totals[channel] = Cell()
        for stage in Stage:
            load.cells[(stage, channel)] = Cell()
    seconds = fill(load)
    if backlog_of is None:
        _count_backlog(load)
    else:
        for key, cell in load.cells.items():
            if key[1] is not None:
                cell.backlog = backlog_of.cells[key].backlog
    for stage in Stage:
        for channel in Channel:
            cell = load.cell(stage, channel)
            for total in (load.cell(stage), load.cell(None, channel), load.cell(None)):
                total.add(cell)
    _percentiles(load, seconds)
    return load


def _unordered(*columns: ColumnElement) -> list[ColumnElement]:
    # Grouping must not tempt SQLite into reading the table in index order (see unindexed).
    return [unindexed(column) for column in columns]


def _from_rollups(load: StageLoad) -> Seconds:
    seconds: Seconds = {}
    for (stage, channel), found in rollup_reads.figures(load.range.narrowed()).items():
        key = (Stage(stage), Channel(channel))
        cell = load.cell(*key)
        cell.arrivals, cell.reopened, cell.with_target, cell.breached = found.counts[:4]
        cell.csat_total, cell.csat_count = found.counts[4:]
        cell.proactive_arrivals = found.proactive_arrivals
        seconds[key] = (found.first_responses, found.resolutions)
    return seconds


def _count_backlog(load: StageLoad) -> None:
    backlog = db.session.execute(
        select(Ticket.stage, Ticket.channel, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES), *load.range.narrowing(backlog=True))
        .group_by(*_unordered(Ticket.stage, Ticket.channel))
    )
    for stage, channel, count in backlog:
        load.cell(stage, channel).backlog = count


def _percentiles(load: StageLoad, seconds: Seconds) -> None:
    """Nearest-rank percentiles per stage and channel, and over all stages or channels."""
    none = np.empty(0, dtype=rollup_rows.VALUES)
    for stage in (*Stage, None):
        for channel in (*Channel, None):
            keys = [
                (one_stage, one_channel)
                for one_stage in ((stage,) if stage else Stage)
                for one_channel in ((channel,) if channel else Channel)
            ]
            first_responses = np.concatenate([seconds.get(key, (none, none))[0] for key in keys])
            resolutions = np.concatenate([seconds.get(key, (none, none))[1] for key in keys])
            cell = load.cell(stage, channel)
            cell.first_response_median_s, cell.first_response_p90_s = nearest_rank(
                first_responses, PERCENTILES["median"], PERCENTILES["p90"]
            )
            (cell.resolution_median_s,) = nearest_rank(resolutions, PERCENTILES["median"])


def nearest_rank(values: np.ndarray, *percents: int) -> list[int | None]:
    """The values at rank ceil(percent / 100 × n) of the sorted values (nearest rank), without
    sorting them all."""
    if not len(values):
        return [None] * len(percents)
    ranks = [(percent * len(values) + 99) // 100 - 1 for percent in percents]
    chosen = np.partition(values, ranks)
    return [int(chosen[rank]) for rank in ranks]


# --- charts -----------------------------------------------------------------------------------


def arrivals_per_day(report: ReportRange) -> dict[date, dict[Stage, int]]:
    """Tickets created on each local day of the range, by stage; days without any included."""
    found: dict[date, dict[Stage, int]] = {day: {} for day in report.days}
    for (day, stage), count in rollup_reads.arrivals_per_day(report.narrowed()).items():
        found[day][Stage(stage)] = count
    return found


def backlog_by_age(report: ReportRange, now: datetime | None = None) -> dict[Stage, list[int]]:
    """Open tickets per stage, counted per AGE_BUCKETS by how long ago they were created."""
    now = now or utcnow()
    bounds = [days for _, days in AGE_BUCKETS if days is not None]
    bucket = case(
        *((Ticket.created_at > now - timedelta(days=days), n) for n, days in enumerate(bounds)),
        else_=len(bounds),
    )
    found = {stage: [0] * len(AGE_BUCKETS) for stage in Stage}
    rows = db.session.execute(
        select(Ticket.stage, bucket, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES), *report.narrowing(backlog=True))
        .group_by(*_unordered(Ticket.stage), bucket)
    )
    for stage, index, count in rows:
        found[stage][index] = count
    return found


def journey_flow(report: ReportRange) -> dict[tuple[Stage, Stage], int]:
    """How customers moved between stages: (earlier stage, next stage) → how often, counting
    each pair of one customer's consecutive requests that both arrived in the range (from the
    journey rollups)."""
    return {
        (Stage(before), Stage(after)): count
        for (before, after), count in journey_rows.flow(report.narrowed()).items()
    }


# --- drill-down -------------------------------------------------------------------------------

# The queue filter behind each figure, on top of stage, channel, agent, team and the dates.
_DRILL_TRAITS = {
    "arrivals": (),
    "reactive_arrivals": (Trait.REACTIVE,),
    "proactive_arrivals": (Trait.PROACTIVE,),
    "first_response_median_s": (Trait.FIRST_RESPONSE,),
    "first_response_p90_s": (Trait.FIRST_RESPONSE,),
    "resolution_median_s": (Trait.RESOLUTION,),
    "reopen_rate": (Trait.REOPEN,),
    "sla_breach_rate": (Trait.SLA_BREACH,),
    "csat": (Trait.CSAT,),
}


def drill_down(
    report: ReportRange, metric: str, stage: Stage | None, channel: Channel | None
) -> dict[str, str]:
    """Queue parameters that list exactly the tickets behind one figure."""
    args: dict[str, str] = {}
    if stage:
        args["stage"] = stage.value
    channel = channel or report.channel
    if channel:
        args["channel"] = channel.value
    if report.agent_id:
        args["assignee"] = str(report.agent_id)
    if report.team_id:
        args["team"] = str(report.team_id)
    source = (Trait(report.source.value),) if report.source else ()
    if metric == "backlog":
        args["status"] = ",".join(status.value for status in OPEN_STATUSES)
        if source:
            args["has"] = source[0].value
        return args
    args["created_from"] = report.first_day.isoformat()
    args["created_to"] = report.last_day.isoformat()
    traits = dict.fromkeys((*source, *_DRILL_TRAITS.get(metric, ()), Trait.REPORTED))
    args["has"] = ",".join(trait.value for trait in traits)
    return args


def _row_id(value: str | None) -> int | None:
    """An id from a query string; ValueError for anything a database id column cannot hold."""
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise ValueError(value)
    return int(value)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
