"""The dashboard's survey section: figures for the page's range, read by its own include
(manager/_survey_figures.html) so the stage page's view stays as it is."""

from __future__ import annotations

from dataclasses import dataclass

from channels.base import Channel
from helpdesk.reports.stage_load import ReportRange
from helpdesk.reports.survey_figures import SurveyFigures, TrendPoint, survey_figures
from helpdesk.web.manager import bp

CHART_HEIGHT = 120
CHART_WIDTH = 1000


@dataclass(frozen=True, slots=True)
class TrendBar:
    """One trend point drawn: CSAT and NPS answers stacked, in chart units."""

    point: TrendPoint
    x: float
    width: float
    csat_height: float
    nps_height: float


@bp.app_template_global()
def survey_channels() -> list[Channel]:
    """The channels the survey table has columns for."""
    return list(Channel)


@bp.app_template_global()
def survey_section(report: ReportRange) -> SurveyFigures:
    """The survey figures of the dashboard's range."""
    return survey_figures(report)


@dataclass(frozen=True, slots=True)
class TrendChart:
    """The trend drawn: its bars and the answer count the top of the axis stands for."""

    bars: list[TrendBar]
    top: int


@bp.app_template_global()
def survey_trend_chart(figures: SurveyFigures) -> TrendChart:
    """The trend as bars scaled to the chart: answers per day (or week), CSAT below NPS."""
    points = figures.trend
    top = max((p.cell.csat_responses + p.cell.nps_responses for p in points), default=0)
    step = CHART_WIDTH / max(len(points), 1)
    bars = [
        TrendBar(
            point,
            n * step + step * 0.1,
            step * 0.8,
            CHART_HEIGHT * point.cell.csat_responses / (top or 1),
            CHART_HEIGHT * point.cell.nps_responses / (top or 1),
        )
        for n, point in enumerate(points)
    ]
    return TrendChart(bars, top)
