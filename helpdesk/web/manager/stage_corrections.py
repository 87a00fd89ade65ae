"""The stage corrections page, its drill-down lists and its CSV: thin views over
helpdesk.reports.stage_corrections."""

from __future__ import annotations

import csv
import io

from flask import Response, render_template, request, url_for

from channels.base import Channel
from helpdesk.reports import stage_corrections as report
from helpdesk.reports.stage_load import ReportRange
from helpdesk.tickets.queries import InvalidFilter
from helpdesk.web.formatting import CHANNEL_LABELS
from helpdesk.web.manager import bp
from helpdesk.web.manager.routes import (
    chosen_range,
    csv_response,
    filter_choices,
    managers_only,
    range_or_default,
)

# The CSV holds the page's four tables one under the other, told apart by the first column.
CSV_COLUMNS = (
    "table",
    "intake_stage",
    "final_stage",
    "rule",
    "channel",
    "tickets",
    "corrected",
    "correction_rate",
    "corrections",
    "most_common_correction",
    "most_common_correction_tickets",
)


@bp.get("/stage-corrections")
@managers_only
def stage_corrections() -> str | tuple[str, int]:
    """Which stages agents corrected, from which intake stage and rule, on which channel."""
    chosen, error = range_or_default()
    page = render_template(
        "manager/stage_corrections.html",
        range=chosen,
        found=report.stage_corrections(chosen),
        drill=lambda **cell: _drill_url(chosen, **cell),
        **filter_choices(),
        error=error,
    )
    return (page, 400) if error else page


@bp.get("/stage-corrections/tickets")
@managers_only
def stage_correction_tickets() -> str:
    """Exactly the tickets one figure of the page counts, with their stage at the range end."""
    chosen = chosen_range()
    cell = report.Cell.from_args(request.args)
    number = request.args.get("page", "1")
    if not number.isdigit() or not 1 <= int(number) <= 100_000:
        raise InvalidFilter("page must be a page number")
    outcomes, count = report.ticket_outcomes(chosen, cell, int(number))
    return render_template(
        "manager/stage_correction_tickets.html",
        range=chosen,
        cell=cell,
        outcomes=outcomes,
        count=count,
        page=int(number),
        page_size=report.PAGE_SIZE,
        channel_labels=CHANNEL_LABELS,
        back=url_for("manager.stage_corrections", **chosen.args()),
    )


@bp.get("/stage-corrections.csv")
@managers_only
def stage_corrections_csv() -> Response:
    """The page's tables as one CSV, a ``table`` column saying which each row belongs to."""
    chosen = chosen_range()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    for table, rows in report.stage_corrections(chosen).tables().items():
        for row in rows:
            writer.writerow({"table": table, **_csv_row(row)})
    name = f"stage-corrections-{chosen.first_day}-{chosen.last_day}.csv"
    return csv_response(out.getvalue(), name)


def _csv_row(row: dict) -> dict:
    """A table row with its most common correction spread over two plain columns."""
    flat = {name: "" if value is None else value for name, value in row.items()}
    common = flat.pop("most_common_correction", "")
    if common:
        flat["most_common_correction"] = common["final_stage"]
        flat["most_common_correction_tickets"] = common["tickets"]
    return flat


def _drill_url(chosen: ReportRange, channel: Channel | None = None, **cell) -> str:
    """The drill-down list of one figure; a channel figure narrows the range to its channel."""
    args = chosen.args()
    if channel:
        args["channel"] = channel.value
    return url_for("manager.stage_correction_tickets", **args, **report.Cell(**cell).args())
