"""The stage dashboard's rollups against a direct count, after random ticket histories.

Hypothesis plays histories of arrivals, stage corrections, reassignments, team changes, replies,
solves, reopenings, surveys, merges, spam and deletions (and their undoing), then SLA breaches;
after each, every figure the dashboard takes from the rollups equals the same figure counted
ticket by ticket in Python, for several ranges and filters; the counts kept change by change
equal a rebuild; after a time-zone change and ``helpdesk reports rebuild`` they hold again.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from channels.base import Channel
from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import Stage, StageRollup, Survey, Team, Ticket, TicketStatus, User
from helpdesk.reports import rollups
from helpdesk.reports import stage_load as report
from helpdesk.tickets import queries, service, sla, trash

START = datetime(2026, 3, 7, 12, tzinfo=ZoneInfo("UTC"))  # daylight saving starts in New York
DAYS = 4
STAGES = (Stage.PURCHASE, Stage.USE, Stage.UNKNOWN)
ZONES = ("America/New_York", "Asia/Kolkata", "UTC")
COUNTED = ("arrivals", "proactive_arrivals", "reopened", "with_target", "breached")
COUNTED += ("csat_total", "csat_count")

ticket_index = st.integers(0, 200)
steps = st.one_of(
    st.tuples(
        st.just("arrive"),
        st.sampled_from(list(Channel)),
        st.integers(0, DAYS * 24 - 1),
        st.sampled_from(STAGES),
        st.booleans(),
    ),
    st.tuples(st.just("stage"), ticket_index, st.sampled_from(STAGES)),
    st.tuples(st.just("assign"), ticket_index, st.integers(0, 2)),
    st.tuples(st.just("team"), ticket_index, st.integers(0, 2)),
    st.tuples(st.just("reply"), ticket_index),
    st.tuples(st.just("solve"), ticket_index),
    st.tuples(st.just("reopen"), ticket_index),
    st.tuples(st.just("survey"), ticket_index, st.integers(1, 5)),
    st.tuples(st.just("merge"), ticket_index, ticket_index),
    st.tuples(st.just("spam"), ticket_index),
    st.tuples(st.just("delete"), ticket_index),
    st.tuples(st.just("restore"), ticket_index),
)


@pytest.fixture
def people(setup, make_user):
    """Two agents and two teams (the first agent in both, the second in the second)."""
    with setup():
        ada, bob = make_user(name="Ada"), make_user(name="Bob")
        first, second = teams.create_team("First line"), teams.create_team("Second line")
        teams.set_members(first, [ada])
        teams.set_members(second, [ada, bob])
        db.session.flush()
        return {"agents": [ada.id, bob.id], "teams": [first.id, second.id]}


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(steps, min_size=1, max_size=20), zone=st.sampled_from(ZONES))
def test_every_rollup_figure_equals_a_direct_count(app, people, inbound, history, zone):
    app.config["HELPDESK_TIMEZONE"] = "America/New_York"
    with app.app_context():
        # An earlier example left the counts in another zone: back in New York, count again.
        rollups.rebuild(db.session.connection(), "America/New_York")
        sla.set_target("purchase", first_response=15, resolution=None)
        # A step an error undoes rolls back to here, not to the counts of the other zone.
        db.session.commit()
        for step in history:
            _play(step, people, inbound)
        sla.record_breaches(now=START + timedelta(days=DAYS + 1))
        db.session.commit()
        _check_figures(people, "America/New_York")
        kept = _rollup_rows()
        rollups.rebuild(db.session.connection(), "America/New_York")
        assert _rollup_rows() == kept
        db.session.commit()
    app.config["HELPDESK_TIMEZONE"] = zone
    result = app.test_cli_runner().invoke(args=["reports", "rebuild"])
    assert zone in result.output
    with app.app_context():
        _check_figures(people, zone)


def _play(step: tuple, people: dict, inbound) -> None:
    kind, *args = step
    if kind == "arrive":
        channel, hours, stage, proactive = args
        number = db.session.query(Ticket).count()
        sender = {"sender": f"c{number}@customer.test"} if channel == Channel.EMAIL else {}
        if channel == Channel.SMS:
            sender = {"sender": f"+1555000{number:04d}"}
        elif channel == Channel.CHAT:
            sender = {"sender": f"visitor-{number}"}
        at = START + timedelta(hours=hours, minutes=7)
        ticket = service.receive(inbound(channel, received_at=at, **sender)).ticket
        ticket.stage, ticket.proactive = stage, proactive
        sla.apply_targets(ticket)
        db.session.flush()
        return
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    if not tickets:
        return
    ticket = tickets[args[0] % len(tickets)]
    if ticket.deleted_at is not None and kind != "restore":
        return
    agents = [db.session.get(User, id) for id in people["agents"]]
    at = ticket.created_at + timedelta(minutes=30)
    try:
        _act(kind, ticket, tickets, args, agents, people, at, inbound)
    except service.TicketError:
        db.session.rollback()
    db.session.flush()


def _act(kind, ticket, tickets, args, agents, people, at, inbound) -> None:
    actor = agents[0]
    if kind == "stage":
        service.set_stage(ticket, actor, args[1], at=at)
    elif kind == "assign":
        service.assign(ticket, actor, agents[args[1] - 1] if args[1] else None, at=at)
    elif kind == "team":
        team = db.session.get(Team, people["teams"][args[1] - 1]) if args[1] else None
        service.set_team(ticket, actor, team, at=at)
    elif kind == "reply" and ticket.merged_into_id is None:
        service.reply(ticket, actor, "On it", at=at)
    elif kind == "solve" and ticket.merged_into_id is None:
        service.set_status(ticket, actor, "solved", at=at + timedelta(minutes=5))
    elif kind == "reopen" and ticket.status == TicketStatus.SOLVED:
        if ticket.channel == Channel.EMAIL:
            sender = ticket.customer.identities[0].value
            message = inbound(sender=sender, subject=f"Re: [#{ticket.number}]", received_at=at)
            service.receive(message)
    elif kind == "survey":
        survey = service.ask_for_rating(ticket, at=at)
        if survey is not None:
            service.answer_survey(survey, args[1])
    elif kind == "merge":
        target = tickets[args[1] % len(tickets)]
        service.check_merge(ticket, target)
        service.merge(ticket, target, actor, at=at)
    elif kind == "spam":
        trash.mark_spam(ticket, actor, at=at)
    elif kind == "delete":
        trash.delete_ticket(ticket, actor, at=at)
    elif kind == "restore":
        if ticket.deleted_at is not None:
            trash.restore(ticket, actor, at=at)
        else:
            trash.unmark_spam(ticket, actor, at=at)


def _rollup_rows() -> set[tuple]:
    rows = db.session.execute(select(StageRollup)).scalars()
    found = set()
    for row in rows:
        counts = tuple(getattr(row, name) for name in rollups.COUNTS)
        if any(counts):
            found.add((row.team_id, row.assignee_id, row.day, row.stage, row.channel, *counts))
    return found


def _ranges(people: dict, zone: str) -> list[report.ReportRange]:
    first = (START - timedelta(days=1)).date()
    whole = report.ReportRange(first, first + timedelta(days=DAYS + 1), zone)
    middle = report.ReportRange(first + timedelta(days=2), first + timedelta(days=3), zone)
    ada, bob = people["agents"]
    line_one, line_two = people["teams"]
    return [
        whole,
        middle,
        report.ReportRange(whole.first_day, whole.last_day, zone, channel=Channel.SMS),
        report.ReportRange(whole.first_day, whole.last_day, zone, agent_id=ada),
        report.ReportRange(whole.first_day, whole.last_day, zone, team_id=line_two),
        report.ReportRange(middle.first_day, middle.last_day, zone, agent_id=bob, team_id=line_two),
        report.ReportRange(whole.first_day, whole.last_day, zone, team_id=line_one),
        report.ReportRange(whole.first_day, whole.last_day, zone, source=report.Source.PROACTIVE),
    ]


def _check_figures(people: dict, zone: str) -> None:
    for chosen in _ranges(people, zone):
        expected, per_day = _direct_counts(chosen)
        load = report.stage_load(chosen)
        for stage in (*Stage, None):
            for channel in (*Channel, None):
                cell = load.cell(stage, channel)
                found = tuple(getattr(cell, name) for name in COUNTED)
                assert found == expected[(stage, channel)], (chosen, stage, channel)
        assert report.arrivals_per_day(chosen) == per_day
        _check_drill_down(chosen, load)


def _direct_counts(chosen: report.ReportRange) -> tuple[dict, dict]:
    """Each count of the table, ticket by ticket: the definition the rollups must keep."""
    zone = ZoneInfo(chosen.timezone)
    scores = dict(db.session.execute(select(Survey.ticket_id, Survey.score)).all())
    cells: dict = {(s, c): [0] * len(COUNTED) for s in (*Stage, None) for c in (*Channel, None)}
    per_day: dict[date, Counter] = {day: Counter() for day in chosen.days}
    for ticket in db.session.scalars(select(Ticket)):
        day = ticket.created_at.astimezone(zone).date()
        if not _counted(ticket, chosen, day):
            continue
        score = scores.get(ticket.id)
        figures = (
            1,
            int(ticket.proactive),
            int(ticket.reopen_count > 0),
            int(bool(ticket.first_response_due_at or ticket.resolution_due_at)),
            int(bool(ticket.first_response_breached_at or ticket.resolution_breached_at)),
            score or 0,
            int(score is not None),
        )
        for key in {
            (ticket.stage, ticket.channel),
            (ticket.stage, None),
            (None, ticket.channel),
            (None, None),
        }:
            cells[key] = [total + value for total, value in zip(cells[key], figures, strict=True)]
        per_day[day][ticket.stage] += 1
    return {key: tuple(value) for key, value in cells.items()}, {
        day: dict(counts) for day, counts in per_day.items()
    }


def _counted(ticket: Ticket, chosen: report.ReportRange, day: date) -> bool:
    reported = ticket.merged_into_id is None and ticket.spam_at is None
    return (
        reported
        and ticket.deleted_at is None
        and chosen.first_day <= day <= chosen.last_day
        and chosen.channel in (None, ticket.channel)
        and chosen.agent_id in (None, ticket.assignee_id)
        and chosen.team_id in (None, ticket.team_id)
        and chosen.source in (None, report.Source("proactive" if ticket.proactive else "reactive"))
    )


def _check_drill_down(chosen: report.ReportRange, load: report.StageLoad) -> None:
    """The arrivals and breaches behind the whole table are exactly the queue's tickets."""
    for metric, name in (("arrivals", "arrivals"), ("sla_breach_rate", "breached")):
        args = report.drill_down(chosen, metric, None, None)
        filters = queries.TicketFilter.from_args(args, me=0, timezone=chosen.timezone)
        listed = queries.ticket_page(filters, limit=500).items
        assert len(listed) == getattr(load.cell(None), name), (chosen, metric)
