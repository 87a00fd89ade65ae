"""The stage dashboard's rollups against a direct count, after random ticket histories.

Hypothesis plays histories of arrivals (a few customers coming back, in any order of time),
stage corrections, reassignments, team changes, replies, solves, reopenings, surveys, merges of
tickets and of customers, spam and deletions (and their undoing), with the worker's folding at
random moments, then SLA breaches; after each, every figure of the dashboard (counts, rates,
satisfaction, percentiles, arrivals per day, the journey flow) equals the same figure counted
from the tickets (helpdesk/reports/stage_direct.py), for several ranges and filters, and the
drill-down lists exactly the tickets counted; the rows kept change by change equal a rebuild;
after a time-zone change and ``helpdesk reports rebuild`` the figures hold again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from channels.base import Channel
from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import (
    JourneyDelta,
    JourneyRollup,
    Stage,
    StageDelta,
    StageRollup,
    Team,
    Ticket,
    TicketStatus,
    User,
)
from helpdesk.reports import journey_rows, rollup_rows, stage_direct
from helpdesk.reports import stage_load as report
from helpdesk.tickets import customer_merges, queries, service, sla, trash

START = datetime(2026, 3, 7, 12, tzinfo=ZoneInfo("UTC"))  # daylight saving starts in New York
DAYS = 4
STAGES = (Stage.PURCHASE, Stage.USE, Stage.UNKNOWN)
ZONES = ("America/New_York", "Asia/Kolkata", "UTC")

ticket_index = st.integers(0, 200)
arrival = st.tuples(
    st.just("arrive"),
    st.sampled_from([Channel.EMAIL, *Channel]),
    st.integers(0, DAYS * 24 - 1),
    st.sampled_from(STAGES),
    st.booleans(),
    st.integers(0, 3),
)
# Arrivals weigh more, so customers come back often enough to walk a journey.
steps = st.one_of(
    *[arrival] * 6,
    st.tuples(st.just("stage"), ticket_index, st.sampled_from(STAGES)),
    st.tuples(st.just("assign"), ticket_index, st.integers(0, 2)),
    st.tuples(st.just("team"), ticket_index, st.integers(0, 2)),
    st.tuples(st.just("reply"), ticket_index, st.integers(1, 600)),
    st.tuples(st.just("solve"), ticket_index, st.integers(1, 600)),
    st.tuples(st.just("reopen"), ticket_index),
    st.tuples(st.just("survey"), ticket_index, st.integers(1, 5)),
    st.tuples(st.just("merge"), ticket_index, ticket_index),
    st.tuples(st.just("customers"), ticket_index, ticket_index),
    st.tuples(st.just("spam"), ticket_index),
    st.tuples(st.just("delete"), ticket_index),
    st.tuples(st.just("restore"), ticket_index),
    st.tuples(st.just("fold"), st.integers(1, 8)),
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


@pytest.fixture
def new_york(app):
    """The helpdesk in New York for one test, and back to the session's zone after it."""
    before = app.config["HELPDESK_TIMEZONE"]
    app.config["HELPDESK_TIMEZONE"] = "America/New_York"
    yield
    app.config["HELPDESK_TIMEZONE"] = before


@settings(
    max_examples=16,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(steps, min_size=1, max_size=30), zone=st.sampled_from(ZONES))
def test_every_rollup_figure_equals_a_direct_count(app, new_york, people, inbound, history, zone):
    app.config["HELPDESK_TIMEZONE"] = "America/New_York"
    with app.app_context():
        # An earlier example left the counts in another zone: back in New York, count again.
        rollup_rows.rebuild(db.session.connection(), "America/New_York")
        journey_rows.rebuild(db.session.connection(), "America/New_York")
        sla.set_target("purchase", first_response=15, resolution=None)
        # A step an error undoes rolls back to here, not to the counts of the other zone.
        db.session.commit()
        for step in history:
            _play(step, people, inbound)
        sla.record_breaches(now=START + timedelta(days=DAYS + 1))
        db.session.commit()
        _check_figures(people, "America/New_York")
        rollup_rows.fold_due()
        journey_rows.fold_due()
        kept = _rollup_rows()
        for deltas in (StageDelta, JourneyDelta):
            assert db.session.scalar(select(func.count()).select_from(deltas)) == 0
        _check_figures(people, "America/New_York")
        rollup_rows.rebuild(db.session.connection(), "America/New_York")
        journey_rows.rebuild(db.session.connection(), "America/New_York")
        assert _rollup_rows() == kept
        db.session.commit()
    app.config["HELPDESK_TIMEZONE"] = zone
    result = app.test_cli_runner().invoke(args=["reports", "rebuild"])
    assert zone in result.output
    with app.app_context():
        _check_figures(people, zone)


def _play(step: tuple, people: dict, inbound) -> None:
    kind, *args = step
    if kind == "fold":
        # Small batches, so a change's taking back may be folded apart from its adding.
        rollup_rows.fold(db.session.connection(), batch=args[0])
        journey_rows.fold(db.session.connection(), batch=args[0])
        return
    if kind == "arrive":
        channel, hours, stage, proactive, customer = args
        # An email from a returning customer is a new request (SMS and chat would thread).
        number = customer if channel == Channel.EMAIL else db.session.query(Ticket).count()
        sender = {"sender": f"c{number}@customer.test"} if channel == Channel.EMAIL else {}
        if channel == Channel.SMS:
            sender = {"sender": f"+1555000{number:04d}"}
        elif channel == Channel.CHAT:
            sender = {"sender": f"visitor-{number}"}
        at = START + timedelta(hours=hours, minutes=7)
        # A text of its own: the same mail twice from one sender is one message, taken in once.
        text = f"Request {db.session.query(Ticket).count()} at {hours}"
        ticket = service.receive(inbound(channel, received_at=at, text=text, **sender)).ticket
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
    try:
        _act(kind, ticket, tickets, args, agents, people, inbound)
    except service.TicketError:
        db.session.rollback()
    db.session.flush()


def _act(kind, ticket, tickets, args, agents, people, inbound) -> None:
    actor = agents[0]
    # Replies and solves come a random number of minutes in, so the percentiles vary.
    at = ticket.created_at + timedelta(minutes=args[1] if kind in ("reply", "solve") else 30)
    if kind == "stage":
        service.set_stage(ticket, actor, args[1], at=ticket.created_at + timedelta(minutes=30))
    elif kind == "assign":
        service.assign(ticket, actor, agents[args[1] - 1] if args[1] else None, at=at)
    elif kind == "team":
        team = db.session.get(Team, people["teams"][args[1] - 1]) if args[1] else None
        service.set_team(ticket, actor, team, at=at)
    elif kind == "reply" and ticket.merged_into_id is None:
        service.reply(ticket, actor, "On it", at=at)
    elif kind == "solve" and ticket.merged_into_id is None:
        service.set_status(ticket, actor, "solved", at=at)
    elif kind == "reopen" and ticket.status == TicketStatus.SOLVED:
        if ticket.channel == Channel.EMAIL:
            sender = ticket.customer.identities[0].value
            at = ticket.created_at + timedelta(hours=11)
            message = inbound(sender=sender, subject=f"Re: [#{ticket.number}]", received_at=at)
            service.receive(message)
    elif kind == "survey":
        survey = service.ask_for_rating(ticket, at=ticket.created_at + timedelta(hours=10))
        if survey is not None:
            service.answer_survey(survey, args[1])
    elif kind == "merge":
        target = tickets[args[1] % len(tickets)]
        service.check_merge(ticket, target)
        service.merge(ticket, target, actor, at=ticket.created_at + timedelta(minutes=30))
    elif kind == "customers":
        source, target = ticket.customer, tickets[args[1] % len(tickets)].customer
        if source.id != target.id:
            customer_merges.merge_customers(source, target, actor)
    elif kind == "spam":
        trash.mark_spam(ticket, actor, at=ticket.created_at + timedelta(minutes=30))
    elif kind == "delete":
        trash.delete_ticket(ticket, actor, at=ticket.created_at + timedelta(minutes=30))
    elif kind == "restore":
        if ticket.deleted_at is not None:
            trash.restore(ticket, actor, at=ticket.created_at + timedelta(minutes=30))
        else:
            trash.unmark_spam(ticket, actor, at=ticket.created_at + timedelta(minutes=30))


def _rollup_rows() -> set[tuple]:
    return {
        (table.__tablename__, *row)
        for table in (StageRollup, JourneyRollup)
        for row in db.session.execute(select(*table.__table__.columns))
    }


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
        report.ReportRange(
            middle.first_day,
            middle.last_day,
            zone,
            channel=Channel.EMAIL,
            source=report.Source.REACTIVE,
        ),
    ]


def _check_figures(people: dict, zone: str) -> None:
    for chosen in _ranges(people, zone):
        load, expected = report.stage_load(chosen), stage_direct.stage_load(chosen)
        for stage in (*Stage, None):
            for channel in (*Channel, None):
                found = report.figures(load.cell(stage, channel))
                assert found == report.figures(expected.cell(stage, channel)), (chosen, stage)
        assert report.arrivals_per_day(chosen) == stage_direct.arrivals_per_day(chosen)
        assert report.journey_flow(chosen) == stage_direct.journey_flow(chosen), chosen
        _check_drill_down(chosen, load)


def _check_drill_down(chosen: report.ReportRange, load: report.StageLoad) -> None:
    """The arrivals, breaches and resolutions behind the whole table are the queue's tickets."""
    for metric, name, values in (
        ("arrivals", "arrivals", None),
        ("sla_breach_rate", "breached", None),
        ("resolution_median_s", None, "resolution_seconds"),
    ):
        args = report.drill_down(chosen, metric, None, None)
        filters = queries.TicketFilter.from_args(args, me=0, timezone=chosen.timezone)
        listed = queries.ticket_page(filters, limit=500).items
        if name:
            assert len(listed) == getattr(load.cell(None), name), (chosen, metric)
        else:
            seconds = sorted(getattr(ticket, values) for ticket in listed)
            median = seconds[(50 * len(seconds) + 99) // 100 - 1] if seconds else None
            assert median == load.cell(None).resolution_median_s, (chosen, metric)


def test_folding_keeps_every_figure_and_empties_the_deltas(ctx, inbound, make_user):
    agent = make_user(name="Ada")
    tickets = [
        service.receive(inbound(sender=f"c{n}@customer.test", received_at=START)).ticket
        for n in range(3)
    ]
    db.session.commit()
    for ticket, minutes in zip(tickets, (5, 9, 7), strict=True):
        service.reply(ticket, agent, "On it", at=START + timedelta(minutes=minutes))
    service.set_stage(tickets[0], agent, Stage.USE, at=START + timedelta(minutes=20))
    db.session.commit()
    whole = report.ReportRange(START.date(), START.date(), "UTC")
    before = report.stage_load(whole)
    assert db.session.scalar(select(func.count()).select_from(StageDelta)) > 0
    assert rollup_rows.fold_due() > 0
    after = report.stage_load(whole)
    assert report.figures(after.cell(None)) == report.figures(before.cell(None))
    assert after.cell(None).first_response_median_s == 7 * 60
    assert after.cell(Stage.USE).first_response_median_s == 5 * 60
    assert db.session.scalar(select(func.count()).select_from(StageDelta)) == 0


@pytest.mark.postgresql
def test_changes_to_tickets_of_one_day_stage_and_channel_never_wait_for_each_other(
    app, ctx, inbound, make_user
):
    agent = make_user(name="Ada")
    first, second = (
        service.receive(inbound(sender=f"c{n}@customer.test", received_at=START)).ticket
        for n in range(2)
    )
    db.session.commit()
    first_id, second_id, agent_id = first.id, second.id, agent.id
    service.set_stage(first, agent, Stage.USE, at=START)  # its transaction stays open
    db.session.flush()
    with app.app_context():
        # Were a shared row locked by the open transaction, fail instead of waiting.
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        other = db.session.get(Ticket, second_id)
        service.set_stage(other, db.session.get(User, agent_id), Stage.USE, at=START)
        db.session.commit()
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        rollup_rows.fold_due()  # the folders do not wait for the open transaction either
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        journey_rows.fold_due()
        db.session.remove()
    db.session.commit()
    whole = report.ReportRange(START.date(), START.date(), "UTC")
    assert report.stage_load(whole).cell(Stage.USE).arrivals == 2
    assert db.session.get(Ticket, first_id).stage == Stage.USE
    rollup_rows.fold_due()
    found = report.figures(report.stage_load(whole).cell(None))
    assert found == report.figures(stage_direct.stage_load(whole).cell(None))


def test_the_journey_flow_reaches_back_as_far_as_a_report_spans(ctx, inbound, make_user):
    agent = make_user(name="Ada")
    days = (0, 700, 1400, 1401)
    tickets = [
        service.receive(
            inbound(
                sender="ada@customer.test",
                text=f"Request {day}",
                received_at=START + timedelta(days=day),
            )
        ).ticket
        for day in days
    ]
    db.session.commit()
    ranges = [
        report.ReportRange(
            (START + timedelta(days=first)).date(), (START + timedelta(days=last)).date(), "UTC"
        )
        for first, last in ((0, 700), (1, 700), (700, 1401), (699, 1400), (1400, 1401))
    ]

    def check() -> None:
        for chosen in ranges:
            assert report.journey_flow(chosen) == stage_direct.journey_flow(chosen), chosen

    check()
    # A correction far from the customer's other requests reaches the step after it.
    service.set_stage(tickets[1], agent, Stage.USE, at=tickets[1].created_at)
    trash.mark_spam(tickets[2], agent, at=tickets[2].created_at)
    db.session.commit()
    check()
    assert report.journey_flow(ranges[2]) == {(Stage.USE, Stage.UNKNOWN): 1}
    journey_rows.fold_due()
    check()


@pytest.mark.postgresql
def test_changes_to_one_customers_requests_take_turns_and_the_flow_stays_exact(
    app, ctx, inbound, make_user
):
    agent = make_user(name="Ada")
    first, second = (
        service.receive(
            inbound(
                sender="ada@customer.test",
                text=f"Request {n}",
                received_at=START + timedelta(hours=n),
            )
        ).ticket
        for n in range(2)
    )
    db.session.commit()
    second_id, agent_id = second.id, agent.id
    service.set_stage(first, agent, Stage.USE, at=START)  # its transaction stays open
    db.session.flush()
    with app.app_context():
        # The step after the first request depends on it: this change waits its turn.
        db.session.execute(text("SET LOCAL lock_timeout = '1s'"))
        other = db.session.get(Ticket, second_id)
        with pytest.raises(OperationalError, match="lock timeout"):
            service.set_stage(other, db.session.get(User, agent_id), Stage.PURCHASE, at=START)
            db.session.flush()
        db.session.rollback()
        db.session.remove()
    db.session.commit()
    service.set_stage(db.session.get(Ticket, second_id), agent, Stage.PURCHASE, at=START)
    db.session.commit()
    whole = report.ReportRange(START.date(), START.date(), "UTC")
    assert report.journey_flow(whole) == {(Stage.USE, Stage.PURCHASE): 1}
    assert report.journey_flow(whole) == stage_direct.journey_flow(whole)
