"""GET /api/v1/reports/stage-corrections: the stage corrections report."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, request

from helpdesk.reports import stage_corrections as report
from helpdesk.reports.stage_load import ReportRange
from helpdesk.web.api import bp, query_schemas
from helpdesk.web.api.auth import MANAGERS, require_role
from helpdesk.web.api.openapi import operation
from helpdesk.web.api.stage_corrections_schemas import StageCorrections


@bp.get("/reports/stage-corrections")
@operation(
    "getStageCorrections",
    (200, StageCorrections, "Each ticket from its intake stage to its stage at the range end."),
    (401, 403),
    query=query_schemas.StageLoadQuery,
)
def stage_corrections_report() -> StageCorrections:
    """How often agents corrected the journey stage, per intake stage, rule and channel
    (managers and admins)"""
    require_role(MANAGERS, "reports are for managers and admins")
    timezone = current_app.config["HELPDESK_TIMEZONE"]
    today = datetime.now(ZoneInfo(timezone)).date()
    found = report.stage_corrections(ReportRange.from_args(request.args, timezone, today))
    total = found.total
    return StageCorrections(
        from_=found.range.first_day,
        to=found.range.last_day,
        timezone=timezone,
        total={
            "tickets": total.tickets,
            "corrected": total.corrected,
            "correction_rate": total.rate,
            "corrections": total.corrections,
        },
        **found.tables(),
    )
