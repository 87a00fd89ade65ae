"""The stage report's figures on hand-computed fixture data, in New York time.

Six tickets around 1–2 March 2026 (EST, UTC-5); the report covers those two local days:

  T1 email purchase  1 Mar 09:00  answered after 600 s, solved after 3,600 s
  T2 email purchase  1 Mar 23:30  answered after 1,200 s, solved, then reopened (spans midnight)
  T3 sms   purchase  2 Mar 10:00  never answered
  T4 email use      28 Feb 23:59  outside the range, though 1 Mar in UTC
  T5 email purchase  3 Mar 00:30  outside the range, though still open (backlog)
  T6 email purchase  2 Mar 12:00  answered after 3,000 s, solved after 3,600 s; same customer
                                  as T1; T1 rated the help 4 and T6 rated it 2

Purchase has a 15-minute first-response target, so T2, T6 and (unanswered) T3 breach it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Role, Stage, Ticket
from helpdesk.reports import stage_load as report
from helpdesk.tickets import queries, service, sla

NEW_YORK = ZoneInfo("America/New_York")
RANGE = {"from": "2026-03-01", "to": "2026-03-02"}


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


@pytest.fixture
def new_york(app, monkeypatch):
    monkeypatch.setitem(app.config, "HELPDESK_TIMEZONE", "America/New_York")


@pytest.fixture
def tickets(new_york, setup, make_user, inbound) -> dict[str, int]:
    with setup():
        sla.set_target("purchase", first_response=15, resolution=None)
        agent = make_user(name="Ada Agent")

        def arrive(name, at, channel="email", stage="purchase", sender=None, **fields):
            sender = sender or (f"{name.lower()}@customer.test" if channel == "email" else None)
            extra = {"sender": sender} if sender else {"sender": "+15550002" + name[1] * 3}
            ticket = service.receive(inbound(channel, received_at=at, **extra, **fields)).ticket
            # The stage as intake would have decided it, without a rule per fixture ticket.
            ticket.stage = ticket.intake_stage = Stage(stage)
            sla.apply_targets(ticket)
            return ticket

        t1 = arrive("T1", local(1, 9), sender="ann@customer.test")
        service.reply(t1, agent, "On it", at=local(1, 9, 10))
        service.set_status(t1, agent, "solved", at=local(1, 10))
        t2 = arrive("T2", local(1, 23, 30))
        service.reply(t2, agent, "On it", at=local(1, 23, 50))
        service.set_status(t2, agent, "solved", at=local(2, 1, 30))
        service.receive(
            inbound(
                sender="t2@customer.test",
                subject=f"Re: [#{t2.number}]",
                received_at=local(2, 2),
            )
        )
        t3 = arrive("T3", local(2, 10), channel="sms")
        t4 = arrive("T4", local(28, 23, 59, month=2), stage="use")
        t5 = arrive("T5", local(3, 0, 30))
        t6 = arrive("T6", local(2, 12), sender="ann@customer.test")
        service.reply(t6, agent, "On it", at=local(2, 12, 50))
        service.set_status(t6, agent, "solved", at=local(2, 13))
        for ticket, score in ((t1, 4), (t6, 2)):
            service.answer_survey(service.ask_for_rating(ticket, at=local(2, 14)), score)
        db.session.flush()
        sla.record_breaches(now=local(10, 0))
        return {
            name: t.id
            for name, t in zip(
                ("T1", "T2", "T3", "T4", "T5", "T6"), (t1, t2, t3, t4, t5, t6), strict=True
            )
        }


def load() -> report.StageLoad:
    return report.stage_load(
        report.ReportRange.from_args(RANGE, "America/New_York", date(2026, 3, 10))
    )


def test_purchase_by_email(ctx, tickets):
    cell = load().cell(Stage.PURCHASE, Channel.EMAIL)
    assert report.figures(cell) == {
        "arrivals": 3,  # T1, T2, T6
        "reactive_arrivals": 3,
        "proactive_arrivals": 0,
        "backlog": 2,  # T2 (reopened), T5 (new, any date)
        "first_response_median_s": 1200,  # of 600, 1200, 3000: rank ceil(1.5) = 2
        "first_response_p90_s": 3000,  # rank ceil(2.7) = 3
        "resolution_median_s": 3600,  # of 3600 (T1) and 3600 (T6): T2 is open again
        "reopen_rate": 0.3333,  # T2 of three
        "sla_breach_rate": 0.6667,  # T2 and T6 of three with a target
        "csat": 3.0,  # T1 rated 4, T6 rated 2
        "csat_count": 2,
    }


def test_purchase_by_sms_and_in_total(ctx, tickets):
    figures = load()
    sms = report.figures(figures.cell(Stage.PURCHASE, Channel.SMS))
    assert (sms["arrivals"], sms["backlog"], sms["first_response_median_s"]) == (1, 1, None)
    assert sms["sla_breach_rate"] == 1.0  # T3 was never answered
    total = report.figures(figures.cell(Stage.PURCHASE))
    assert (total["arrivals"], total["backlog"], total["first_response_median_s"]) == (4, 3, 1200)
    assert total["sla_breach_rate"] == 0.75


def test_every_stage_and_channel_has_a_row_even_when_empty(ctx, tickets):
    rows = load().rows()
    assert len(rows) == 9 * 3
    use = next(r for r in rows if (r["stage"], r["channel"]) == ("use", "email"))
    assert use["arrivals"] == 0 and use["backlog"] == 1  # T4: open, but created before the range
    assert use["reopen_rate"] is None and use["first_response_median_s"] is None


def test_arrivals_per_local_day_and_journey_flow(ctx, tickets):
    chosen = report.ReportRange.from_args(RANGE, "America/New_York", date(2026, 3, 10))
    per_day = report.arrivals_per_day(chosen)
    assert per_day == {date(2026, 3, 1): {Stage.PURCHASE: 2}, date(2026, 3, 2): {Stage.PURCHASE: 2}}
    assert report.journey_flow(chosen) == {(Stage.PURCHASE, Stage.PURCHASE): 1}  # T1 then T6


def test_local_days_stay_exact_across_a_daylight_saving_change(ctx, new_york, inbound):
    # New York moves to EDT at 02:00 on 8 March 2026; 23:30 on 8 March is 03:30 UTC on the 9th.
    service.receive(inbound(received_at=local(8, 23, 30)))
    service.receive(inbound(received_at=local(7, 23, 30), sender="b@customer.test"))
    chosen = report.ReportRange(date(2026, 3, 7), date(2026, 3, 9), "America/New_York")
    per_day = report.arrivals_per_day(chosen)
    assert [sum(per_day[day].values()) for day in chosen.days] == [1, 1, 0]


@pytest.mark.parametrize(
    ("metric", "stage", "channel", "expected"),
    [
        ("arrivals", Stage.PURCHASE, Channel.EMAIL, {"T1", "T2", "T6"}),
        ("backlog", Stage.PURCHASE, Channel.EMAIL, {"T2", "T5"}),
        ("csat", Stage.PURCHASE, None, {"T1", "T6"}),
        ("first_response_median_s", Stage.PURCHASE, None, {"T1", "T2", "T6"}),
        ("resolution_median_s", Stage.PURCHASE, Channel.EMAIL, {"T1", "T6"}),
        ("reopen_rate", Stage.PURCHASE, None, {"T2"}),
        ("sla_breach_rate", Stage.PURCHASE, None, {"T2", "T3", "T6"}),
        ("arrivals", None, None, {"T1", "T2", "T3", "T6"}),
    ],
)
def test_each_figure_drills_down_to_exactly_its_tickets(
    ctx, tickets, metric, stage, channel, expected
):
    chosen = report.ReportRange.from_args(RANGE, "America/New_York", date(2026, 3, 10))
    args = report.drill_down(chosen, metric, stage, channel)
    filters = queries.TicketFilter.from_args(args, me=0, timezone="America/New_York")
    found = {t.id for t in queries.ticket_page(filters, limit=200).items}
    assert found == {tickets[name] for name in expected}


def test_the_api_serves_the_same_figures_to_managers_only(
    client, tickets, setup, make_user, make_token
):
    with setup():
        manager = make_token(make_user(role=Role.MANAGER))
        agent = make_token(make_user(role=Role.AGENT))
    url = "/api/v1/reports/stage-load?from=2026-03-01&to=2026-03-02"
    body = client.get(url, headers={"Authorization": f"Bearer {manager}"}).get_json()
    assert (body["from"], body["to"], body["timezone"]) == (
        "2026-03-01",
        "2026-03-02",
        "America/New_York",
    )
    row = next(r for r in body["rows"] if (r["stage"], r["channel"]) == ("purchase", "email"))
    assert row["first_response_p90_s"] == 3000 and row["reopen_rate"] == 0.3333
    refused = client.get(url, headers={"Authorization": f"Bearer {agent}"})
    assert refused.status_code == 403
    bad = client.get(url + "&channel=fax", headers={"Authorization": f"Bearer {manager}"})
    assert bad.status_code == 400


def test_the_dashboard_and_its_csv_exports(client, tickets, setup, make_user):
    with setup():
        email = make_user(role=Role.MANAGER).email
    client.post("/login", data={"email": email, "password": "correct horse battery"})
    page = client.get("/reports/stages?from=2026-03-01&to=2026-03-02")
    assert page.status_code == 200
    assert (
        "/tickets?stage=purchase&amp;created_from=2026-03-01&amp;created_to=2026-03-02&amp;has=reopen"
        in page.text
    )
    table = client.get("/reports/stages.csv?from=2026-03-01&to=2026-03-02").text.splitlines()
    header = "stage,channel,arrivals,reactive_arrivals,proactive_arrivals,backlog,"
    assert table[0].startswith(header)
    # This period's figures, then the previous period's (27–28 February: T4 only, at Use).
    row = next(line for line in table if line.startswith("purchase,email,"))
    assert row.startswith("purchase,email,3,3,0,2,1200,3000,3600,0.3333,0.6667,3.0,2,0,0,0,,,,,,")
    rows = client.get("/reports/stages-tickets.csv?from=2026-03-01&to=2026-03-02").text.splitlines()
    assert len(rows) == 1 + 4
    assert client.get("/reports/stages?from=2026-03-05&to=2026-03-01").status_code == 400


def test_ticket_times_are_calendar_seconds(ctx, tickets):
    t2 = db.session.get(Ticket, tickets["T2"])
    assert t2.first_response_seconds == 1200
    assert t2.reopen_count == 1 and t2.resolution_seconds is None
    assert t2.created_at + timedelta(seconds=1200) == t2.first_response_at
