"""The stage dashboard's figures counted from the tickets themselves: the definition the rollups
(helpdesk/reports/rollups.py) keep, read ticket by ticket. The property test compares the two,
and the benchmark times both; the dashboard itself reads the rollups."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, String, case, func, or_, select, type_coerce

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Stage, Survey, Ticket
from helpdesk.reports.sql import epoch_seconds
from helpdesk.reports.stage_load import ReportRange, Seconds, StageLoad, assembled
from helpdesk.tickets.queries import Trait, trait_condition


def stage_load(report: ReportRange) -> StageLoad:
    """Every figure of the stage table for one range, counted from the tickets."""
    return assembled(report, _from_tickets)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _from_tickets(load: StageLoad) -> Seconds:
    report = load.range
    arrivals = db.session.execute(
        select(
            Ticket.stage,
            Ticket.channel,
            func.count(),
            _flag(trait_condition(Trait.PROACTIVE)),
            _flag(trait_condition(Trait.REOPEN)),
            _flag(trait_condition(Trait.SLA_TARGET)),
            _flag(trait_condition(Trait.SLA_BREACH)),
        )
        .where(*report.conditions())
        .group_by(Ticket.stage, Ticket.channel)
    )
    for stage, channel, count, proactive, reopened, with_target, breached in arrivals:
        cell = load.cell(stage, channel)
        cell.arrivals, cell.proactive_arrivals, cell.reopened = count, proactive, reopened
        cell.with_target, cell.breached = with_target, breached
    answers = db.session.execute(
        select(Ticket.stage, Ticket.channel, func.sum(Survey.score), func.count(Survey.score))
        .join(Survey, Survey.ticket_id == Ticket.id)
        .where(*report.conditions(), Survey.score.is_not(None))
        .group_by(Ticket.stage, Ticket.channel)
    )
    for stage, channel, total, count in answers:
        cell = load.cell(stage, channel)
        cell.csat_total, cell.csat_count = total, count
    values: dict[tuple[Stage, Channel], tuple[list[int], list[int]]] = {}
    rows = db.session.execute(
        select(
            type_coerce(Ticket.stage, String),
            type_coerce(Ticket.channel, String),
            Ticket.first_response_seconds,
            Ticket.resolution_seconds,
        ).where(
            *report.conditions(),
            or_(Ticket.first_response_seconds.is_not(None), Ticket.resolution_seconds.is_not(None)),
        )
    )
    for stage, channel, first_response, resolution in rows:
        found = values.setdefault((Stage(stage), Channel(channel)), ([], []))
        for n, seconds in enumerate((first_response, resolution)):
            if seconds is not None:
                found[n].append(seconds)
    return {
        key: (np.array(first, dtype=np.int64), np.array(second, dtype=np.int64))
        for key, (first, second) in values.items()
    }


def arrivals_per_day(report: ReportRange) -> dict[date, dict[Stage, int]]:
    """Tickets created on each local day of the range, by stage; days without any included."""
    day_number = (epoch_seconds(Ticket.created_at) + _utc_offset(report)) // 86400
    found: dict[date, dict[Stage, int]] = {day: {} for day in report.days}
    rows = db.session.execute(
        select(day_number, Ticket.stage, func.count())
        .where(*report.conditions())
        .group_by(day_number, Ticket.stage)
    )
    for number, stage, count in rows:
        day = date(1970, 1, 1) + timedelta(days=int(number))
        found.setdefault(day, {})[stage] = count
    return found


def journey_flow(report: ReportRange) -> dict[tuple[Stage, Stage], int]:
    """How customers moved between stages: (earlier stage, next stage) → how often, counting
    each pair of one customer's consecutive requests that both arrived in the range."""
    earlier = (
        func.lag(Ticket.stage)
        .over(partition_by=Ticket.customer_id, order_by=(Ticket.created_at, Ticket.id))
        .label("earlier")
    )
    steps = select(earlier, Ticket.stage.label("stage")).where(*report.conditions()).subquery()
    rows = db.session.execute(
        select(steps.c.earlier, steps.c.stage, func.count())
        .where(steps.c.earlier.is_not(None))
        .group_by(steps.c.earlier, steps.c.stage)
    )
    return {(Stage(before), Stage(after)): count for before, after, count in rows}


def _utc_offset(report: ReportRange) -> ColumnElement[int]:
    """The zone's UTC offset in seconds at each ticket's creation, as SQL: a CASE over the
    offset changes inside the range (daylight saving), so local days come out exact."""
    zone = ZoneInfo(report.timezone)
    changes = list(_offset_changes(zone, report.start, report.end))
    first_offset = int(report.start.astimezone(zone).utcoffset().total_seconds())
    if not changes:
        return first_offset  # type: ignore[return-value]
    whens = []
    offset = first_offset
    for moment, next_offset in changes:
        whens.append((Ticket.created_at < moment, offset))
        offset = next_offset
    return case(*whens, else_=offset)


def _offset_changes(
    zone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, int]]:
    """(moment, new offset) for every change of the zone's offset between start and end."""
    step = timedelta(minutes=15)  # zones change offset on quarter hours
    offset = start.astimezone(zone).utcoffset()
    moment = start
    while moment < end:
        moment += step
        now = moment.astimezone(zone).utcoffset()
        if now != offset:
            yield moment, int(now.total_seconds())
            offset = now
