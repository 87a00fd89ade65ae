"""The survey parts of the stage-load report: the trend over the period and the follow-ups."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from helpdesk.reports.survey_figures import SurveyFigures


class SurveyTrendPoint(BaseModel):
    """The answers given on one day (a week, starting that day, for ranges over 31 days)."""

    first_day: date
    csat: float | None = Field(description="mean of 1–5 answers")
    csat_percent: float | None = Field(description="share of 4 and 5 answers, in percent")
    csat_responses: int
    nps: int | None = Field(
        description="% promoters (9–10) minus % detractors (0–6); null under 10 answers"
    )
    nps_responses: int


class SurveyFollowUps(BaseModel):
    """Unhappy answers (NPS 0–6, CSAT 1–2) given in the range and their follow-ups."""

    opened: int
    done: int = Field(description="followed up: flag cleared, or follow-up ticket acted on")
    median_hours: float | None = Field(description="from the answer to its follow-up")


def trend_of(figures: SurveyFigures) -> list[SurveyTrendPoint]:
    """The trend points of the API's answer."""
    return [
        SurveyTrendPoint(first_day=point.first_day, csat=point.cell.csat, **point.cell.figures())
        for point in figures.trend
    ]


def follow_ups_of(figures: SurveyFigures) -> SurveyFollowUps:
    """The follow-up counts of the API's answer."""
    found = figures.follow_ups
    return SurveyFollowUps(opened=found.opened, done=found.done, median_hours=found.median_hours)
