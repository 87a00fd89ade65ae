"""Survey figures for the stage report: CSAT and NPS per journey stage and channel, their
trend over the period, and how unhappy answers were followed up.

A range counts the answers *given* in it (local days in the helpdesk's time zone), each under
the stage its ticket had when the customer answered and the channel it was asked on; the
report's channel, agent and team narrow them as they narrow tickets, and a merged ticket's
survey never counts. The figures (DESIGN "Surveys"):

- ``csat``: the average of the 1-5 ratings; ``csat_percent``: the share of 4 and 5 ratings, in
  percent.
- ``nps``: percent promoters (9-10) minus percent detractors (0-6), a whole number from -100
  to 100, None ("—") with fewer than NPS_MIN_RESPONSES answers.

All of it is computed here from one read of the answers, so every database agrees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Stage, Survey, SurveyKind, Ticket
from helpdesk.reports.stage_load import ReportRange
from helpdesk.tickets import follow_ups
from helpdesk.tickets.queries import Trait, trait_condition

NPS_MIN_RESPONSES = 10
PROMOTER_FROM = 9
DETRACTOR_UP_TO = 6
CSAT_HAPPY_FROM = 4
# Up to this many days the trend has a point per day, beyond it one per week.
DAILY_TREND_DAYS = 31


@dataclass(slots=True)
class SurveyCell:
    """The answers of one stage on one channel (None: all stages or all channels)."""

    csat_total: int = 0
    csat_responses: int = 0
    csat_happy: int = 0
    nps_responses: int = 0
    promoters: int = 0
    detractors: int = 0

    def count(self, kind: SurveyKind, score: int) -> None:
        """Add one answer."""
        if kind == SurveyKind.CSAT:
            self.csat_total += score
            self.csat_responses += 1
            self.csat_happy += score >= CSAT_HAPPY_FROM
        else:
            self.nps_responses += 1
            self.promoters += score >= PROMOTER_FROM
            self.detractors += score <= DETRACTOR_UP_TO

    @property
    def csat(self) -> float | None:
        return round(self.csat_total / self.csat_responses, 2) if self.csat_responses else None

    @property
    def csat_percent(self) -> float | None:
        if not self.csat_responses:
            return None
        return round(100 * self.csat_happy / self.csat_responses, 1)

    @property
    def nps(self) -> int | None:
        if self.nps_responses < NPS_MIN_RESPONSES:
            return None
        return _rounded_ratio(100 * (self.promoters - self.detractors), self.nps_responses)

    def figures(self) -> dict:
        """The figures the stage-load rows gain, by their API names (``csat``, the average,
        they have already)."""
        return {
            "csat_percent": self.csat_percent,
            "csat_responses": self.csat_responses,
            "nps": self.nps,
            "nps_responses": self.nps_responses,
        }


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """The answers given on one day, or in one week starting on ``first_day``."""

    first_day: date
    cell: SurveyCell


@dataclass(slots=True)
class FollowUps:
    """Unhappy answers of the period and what became of their follow-ups."""

    opened: int = 0
    done: int = 0
    hours_to_done: list[float] = field(default_factory=list)

    @property
    def median_hours(self) -> float | None:
        """The median time from the answer to its follow-up, in hours (one decimal)."""
        return round(median(self.hours_to_done), 1) if self.hours_to_done else None


@dataclass(slots=True)
class SurveyFigures:
    """Every survey figure of one range."""

    range: ReportRange
    cells: dict[tuple[Stage | None, Channel | None], SurveyCell]
    trend: list[TrendPoint]
    follow_ups: FollowUps

    def cell(self, stage: Stage | None = None, channel: Channel | None = None) -> SurveyCell:
        """A stage on a channel; None for either means all of them."""
        return self.cells[(stage, channel)]

    def with_rows(self, rows: list[dict]) -> list[dict]:
        """Stage-load rows (the API's, or the CSV's where ``all`` stands for every stage or
        channel) with each one's survey figures added."""
        return [
            {
                **row,
                **self.cell(_named(Stage, row["stage"]), _named(Channel, row["channel"])).figures(),
            }
            for row in rows
        ]

    @property
    def weekly(self) -> bool:
        return _weekly(self.range)


def _named(kind: type[Stage] | type[Channel], value: str) -> Stage | Channel | None:
    return None if value == "all" else kind(value)


def survey_figures(report: ReportRange) -> SurveyFigures:
    """CSAT and NPS per stage × channel and in total, the trend, and the follow-ups."""
    cells = {
        (stage, channel): SurveyCell() for stage in (*Stage, None) for channel in (*Channel, None)
    }
    weekly = _weekly(report)
    points = {start: SurveyCell() for start in _bucket_starts(report, weekly)}
    zone = ZoneInfo(report.timezone)
    answers = list(_answers(report))
    for survey in answers:
        stage = survey.stage or Stage.UNKNOWN
        for key in ((stage, survey.channel), (stage, None), (None, survey.channel), (None, None)):
            cells[key].count(survey.kind, survey.score)
        day = survey.answered_at.astimezone(zone).date()
        points[_bucket_of(report, day, weekly)].count(survey.kind, survey.score)
    trend = [TrendPoint(start, cell) for start, cell in points.items()]
    return SurveyFigures(report, cells, trend, _follow_ups(answers))


def _answers(report: ReportRange) -> Iterable[Survey]:
    return db.session.scalars(
        select(Survey)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(
            Survey.answered_at >= report.start,
            Survey.answered_at < report.end,
            Survey.score.is_not(None),
            trait_condition(Trait.REPORTED),
            # A survey is asked on its ticket's channel: the ticket's narrowing fits it.
            *report.narrowing(),
        )
    )


def _follow_ups(answers: list[Survey]) -> FollowUps:
    found = FollowUps()
    for survey in answers:
        if survey.follow_up is None:
            continue
        found.opened += 1
        done = follow_ups.done_at(survey)
        if done is not None:
            found.done += 1
            found.hours_to_done.append((done - survey.answered_at).total_seconds() / 3600)
    return found


def _weekly(report: ReportRange) -> bool:
    return len(report.days) > DAILY_TREND_DAYS


def _bucket_starts(report: ReportRange, weekly: bool) -> list[date]:
    return report.days[:: 7 if weekly else 1]


def _bucket_of(report: ReportRange, day: date, weekly: bool) -> date:
    if not weekly:
        return day
    return report.first_day + timedelta(days=(day - report.first_day).days // 7 * 7)


def _rounded_ratio(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest whole number, halves away from zero."""
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))
