"""The stage dashboard and its CSV exports: thin views over helpdesk.reports.stage_load."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from channels.base import Channel
from helpdesk import accounts, teams
from helpdesk.extensions import db
from helpdesk.models import Role, Stage, Ticket
from helpdesk.reports import stage_load as report
from helpdesk.reports.survey_figures import survey_figures
from helpdesk.tickets.queries import InvalidFilter
from helpdesk.web.access import roles_required
from helpdesk.web.downloads import content_disposition
from helpdesk.web.formatting import CHANNEL_LABELS, url_with
from helpdesk.web.manager import bp
from helpdesk.web.manager.charts import PLOT, arrival_chart, stage_pair_chart

managers_only = roles_required(Role.MANAGER, Role.ADMIN)

METRICS = {
    "arrivals": "Arrivals",
    "reactive_arrivals": "Reactive",
    "proactive_arrivals": "Proactive",
    "backlog": "Backlog now",
    "first_response_median_s": "1st response median",
    "first_response_p90_s": "1st response p90",
    "resolution_median_s": "Resolution median",
    "reopen_rate": "Reopened",
    "sla_breach_rate": "SLA breached",
    "csat": "CSAT",
}
TICKET_COLUMNS = (
    "number",
    "subject",
    "stage",
    "intake_stage",
    "stage_source",
    "channel",
    "source",
    "status",
    "priority",
    "assignee",
    "created_at",
    "first_response_s",
    "resolution_s",
    "reopened",
    "sla_breached",
    "tags",
)


@bp.errorhandler(InvalidFilter)
def _invalid_filter(error: InvalidFilter) -> tuple[str, int]:
    page = render_template("errors/error.html", code=400, title="Bad report range", text=str(error))
    return page, 400


@bp.get("/stages")
@managers_only
def stages() -> str | tuple[str, int]:
    chosen, error = range_or_default()
    metric = request.args.get("metric", "arrivals")
    if metric not in METRICS:
        metric = "arrivals"
    comparison = report.compare(chosen)
    page = render_template(
        "manager/stages.html",
        range=chosen,
        load=comparison.current,
        comparison=comparison,
        hot_spots=comparison.hot_spots(),
        presets=_preset_links(chosen, local_today()),
        metric=metric,
        metrics=METRICS,
        plot=PLOT,
        chart=arrival_chart(report.arrivals_per_day(chosen)),
        pairs=stage_pair_chart(
            _arrivals_by_stage(comparison.current), _arrivals_by_stage(comparison.previous)
        ),
        backlog=report.backlog_by_age(chosen),
        age_buckets=[label for label, _ in report.AGE_BUCKETS],
        flow=report.journey_flow(chosen),
        **filter_choices(),
        drill=lambda metric, stage=None, channel=None: url_for(
            "agent.queue", **report.drill_down(chosen, metric, stage, channel)
        ),
        error=error,
    )
    return (page, 400) if error else page


@bp.get("/stages.csv")
@managers_only
def stages_csv() -> Response:
    """The page's table: every stage and all stages, per channel and in total, with the
    previous period's figures beside, and the Surveys section's figures."""
    chosen = chosen_range()
    rows = survey_figures(chosen).with_rows(report.compare(chosen).table())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return csv_response(out.getvalue(), f"stage-load-{chosen.first_day}-{chosen.last_day}.csv")


@bp.get("/stages-tickets.csv")
@managers_only
def tickets_csv() -> Response:
    """Every ticket behind the table, streamed so a long range needs no memory."""
    chosen = chosen_range()
    stage = request.args.get("stage")
    query = (
        select(Ticket)
        .where(*chosen.conditions())
        .options(joinedload(Ticket.assignee), selectinload(Ticket.tags))
        .order_by(Ticket.created_at, Ticket.id)
        .execution_options(yield_per=1000)
    )
    if stage:
        if stage not in Stage.__members__.values():
            raise InvalidFilter(f"no stage {stage!r}")
        query = query.where(Ticket.stage == stage)
    zone = ZoneInfo(chosen.timezone)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(TICKET_COLUMNS)
        for ticket in db.session.scalars(query):
            writer.writerow(_ticket_row(ticket, zone))
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        if out.getvalue():
            yield out.getvalue()

    name = f"stage-tickets-{chosen.first_day}-{chosen.last_day}.csv"
    return csv_response(stream_with_context(lines()), name)


def _ticket_row(ticket: Ticket, zone: ZoneInfo) -> list:
    return [
        ticket.number,
        ticket.subject,
        ticket.stage.value,
        ticket.intake_stage.value,
        ticket.stage_source.value,
        ticket.channel.value,
        "proactive" if ticket.proactive else "reactive",
        ticket.status.value,
        ticket.priority.value,
        ticket.assignee.email if ticket.assignee else "",
        ticket.created_at.astimezone(zone).isoformat(),
        ticket.first_response_seconds if ticket.first_response_seconds is not None else "",
        ticket.resolution_seconds if ticket.resolution_seconds is not None else "",
        ticket.reopen_count,
        "yes" if ticket.first_response_breached_at or ticket.resolution_breached_at else "no",
        ",".join(tag.name for tag in ticket.tags),
    ]


def csv_response(body, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response


def report_timezone() -> str:
    return current_app.config["HELPDESK_TIMEZONE"]


def local_today():
    return datetime.now(ZoneInfo(report_timezone())).date()


def chosen_range() -> report.ReportRange:
    return report.ReportRange.from_args(request.args, report_timezone(), local_today())


def range_or_default() -> tuple[report.ReportRange, str | None]:
    """The range the query asks for, or the default range with what was wrong with it."""
    try:
        return chosen_range(), None
    except InvalidFilter as invalid:
        return report.ReportRange.from_args({}, report_timezone(), local_today()), str(invalid)


def filter_choices() -> dict[str, object]:
    """What a manager report's filter form offers (manager/_report_filters.html)."""
    return {
        "agents": accounts.active_users(),
        "teams": teams.all_teams(),
        "channels": list(Channel),
        "channel_labels": CHANNEL_LABELS,
        "sources": list(report.Source),
    }


def _preset_links(chosen: report.ReportRange, today: date) -> list[tuple[str, str, bool]]:
    """(label, link, whether it is the range shown) for each date preset."""
    active = chosen.preset(today)
    return [
        (
            preset.label,
            url_with(**{"from": preset.first_day.isoformat(), "to": preset.last_day.isoformat()}),
            preset.name == active,
        )
        for preset in report.presets(today)
    ]


def _arrivals_by_stage(load: report.StageLoad) -> dict[Stage, int]:
    return {stage: load.cell(stage).arrivals for stage in Stage}
