"""The stage corrections report on hand-computed fixture data (UTC), range 1–2 March 2026.

  A email  purchase, rule pricing-page  → use on 1 Mar                      purchase→use, 1
  B email  purchase, pricing-page       → use, → cultivation, both 1 Mar   purchase→cultivation, 2
  C sms    discovery, first-word        → use, then back → discovery       kept, 2
  D sms    use, first-word              never corrected                    kept, 0
  E chat   purchase, pricing-page       → use on 4 Mar, after the range    kept, 0
  F chat   unknown, no rule             → awareness 2 Mar 23:59, → discovery 3 Mar 00:01
                                                                           unknown→awareness, 1
  H email  purchase, pricing-page       → use on 2 Mar; I merged into it   purchase→use, 1
  G email  created 28 Feb, corrected in the range: outside the range
  I email  purchase, → advocacy, then merged into H: left out, and its copied events on H
           are not H's corrections

A ticket corrected and set back (C) ends on its intake stage: it counts as kept in the matrix
and the rates, while its two corrections still count.

  tickets 7, corrected 4 (A, B, F, H), corrections 1+2+2+0+0+1+1 = 7
  purchase: A B E H → 4 tickets, 3 corrected (0.75), 4 corrections
  pricing-page: A B E H → 4, 3 corrected, most common correction → use (A, H)
  first-word: C D → 2, 0 corrected (0.0), 2 corrections; no rule: F → 1, 1, 1.0, 1
  email: A B H → 3, 3, 1.0, 4; sms: C D → 2, 0, 0.0, 2; chat: E F → 2, 1, 0.5, 1
"""

from __future__ import annotations

import csv
import html
import io
import re
import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event
from test_api_document import conforms

from helpdesk.extensions import db
from helpdesk.models import Role, Stage, Ticket
from helpdesk.reports import stage_corrections as report
from helpdesk.reports.stage_load import ReportRange
from helpdesk.teams import create_team
from helpdesk.tickets import service
from helpdesk.tickets.queries import InvalidFilter

RANGE = {"from": "2026-03-01", "to": "2026-03-02"}
TODAY = date(2026, 3, 10)


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def tickets(setup, make_user, inbound) -> dict[str, int]:
    with setup():
        ada = make_user(name="Ada Agent")
        bo = make_user(name="Bo Agent")
        team = create_team("Sales")

        def arrive(name, at, channel, intake, rule):
            sender = {"email": f"{name.lower()}@customer.test", "sms": f"+1555000{ord(name):04d}"}
            fields = {"sender": sender.get(channel, f"visitor-{name}")}
            ticket = service.receive(inbound(channel, received_at=at, **fields)).ticket
            # What intake decided, without a stage rule per fixture ticket.
            ticket.stage = ticket.intake_stage = Stage(intake)
            ticket.intake_rule = rule
            return ticket

        def correct(ticket, *moves):
            for stage, at in moves:
                service.set_stage(ticket, bo, stage, at=at)

        found = {
            "A": arrive("A", utc(1, 9), "email", "purchase", "pricing-page"),
            "B": arrive("B", utc(1, 10), "email", "purchase", "pricing-page"),
            "C": arrive("C", utc(1, 11), "sms", "discovery", "first-word"),
            "D": arrive("D", utc(1, 12), "sms", "use", "first-word"),
            "E": arrive("E", utc(2, 9), "chat", "purchase", "pricing-page"),
            "F": arrive("F", utc(2, 10), "chat", "unknown", None),
            "G": arrive("G", utc(28, 23, month=2), "email", "purchase", "pricing-page"),
            "H": arrive("H", utc(2, 11), "email", "purchase", "pricing-page"),
            "I": arrive("I", utc(2, 12), "email", "purchase", "pricing-page"),
        }
        db.session.flush()
        t = found
        correct(t["A"], ("use", utc(1, 9, 30)))
        correct(t["B"], ("use", utc(1, 10, 30)), ("cultivation", utc(1, 11, 30)))
        correct(t["C"], ("use", utc(1, 11, 30)), ("discovery", utc(1, 12, 30)))
        correct(t["E"], ("use", utc(4, 9)))
        correct(t["F"], ("awareness", utc(2, 23, 59)), ("discovery", utc(3, 0, 1)))
        correct(t["G"], ("use", utc(1, 9)))
        correct(t["H"], ("use", utc(2, 11, 30)))
        correct(t["I"], ("advocacy", utc(2, 12, 30)))
        service.merge(t["I"], t["H"], bo, at=utc(2, 13))
        service.assign(t["A"], ada, ada, at=utc(1, 9, 5))
        t["C"].team_id = team.id
        db.session.flush()
        return {name: ticket.id for name, ticket in found.items()} | {
            "ada": ada.id,
            "team": team.id,
        }


def figures(args: dict | None = None) -> report.StageCorrections:
    return report.stage_corrections(ReportRange.from_args(args or RANGE, "UTC", TODAY))


def listed(cell: report.Cell, args: dict | None = None) -> set[int]:
    chosen = ReportRange.from_args(args or RANGE, "UTC", TODAY)
    outcomes, count = report.ticket_outcomes(chosen, cell)
    assert count == len(outcomes)
    return {outcome.ticket.id for outcome in outcomes}


def ids(tickets: dict[str, int], names: str) -> set[int]:
    return {tickets[name] for name in names}


def test_each_ticket_counts_once_from_intake_to_its_stage_at_the_range_end(ctx, tickets):
    found = figures()
    pairs = {pair: (t.tickets, t.corrections) for pair, t in found.matrix.items()}
    assert pairs == {
        (Stage.PURCHASE, Stage.USE): (2, 2),  # A, H (I's copied change on H does not count)
        (Stage.PURCHASE, Stage.CULTIVATION): (1, 2),  # B, corrected twice, counted once
        (Stage.PURCHASE, Stage.PURCHASE): (1, 0),  # E: corrected after the range ended
        (Stage.DISCOVERY, Stage.DISCOVERY): (1, 2),  # C: set back to its intake stage
        (Stage.USE, Stage.USE): (1, 0),  # D
        (Stage.UNKNOWN, Stage.AWARENESS): (1, 1),  # F: its stage at 23:59 on the last day
    }
    total = found.total
    assert (total.tickets, total.corrected, total.corrections, total.rate) == (7, 4, 7, 0.5714)


def test_per_intake_stage(ctx, tickets):
    rows = {row["intake_stage"]: row for row in figures().tables()["intake_stages"]}
    assert rows["purchase"] == {
        "intake_stage": "purchase",
        "tickets": 4,
        "corrected": 3,
        "correction_rate": 0.75,
        "corrections": 4,
    }
    assert (rows["discovery"]["corrected"], rows["discovery"]["corrections"]) == (0, 2)
    assert rows["discovery"]["correction_rate"] == 0.0
    assert rows["unknown"]["correction_rate"] == 1.0
    assert rows["advocacy"] == {
        "intake_stage": "advocacy",
        "tickets": 0,
        "corrected": 0,
        "correction_rate": None,
        "corrections": 0,
    }


def test_per_rule_with_its_most_common_correction(ctx, tickets):
    assert figures().tables()["rules"] == [
        {
            "rule": "first-word",
            "tickets": 2,
            "corrected": 0,
            "correction_rate": 0.0,
            "corrections": 2,
            "most_common_correction": None,
        },
        {
            "rule": "pricing-page",
            "tickets": 4,
            "corrected": 3,
            "correction_rate": 0.75,
            "corrections": 4,
            "most_common_correction": {"final_stage": "use", "tickets": 2},
        },
        {
            "rule": None,
            "tickets": 1,
            "corrected": 1,
            "correction_rate": 1.0,
            "corrections": 1,
            "most_common_correction": {"final_stage": "awareness", "tickets": 1},
        },
    ]


def test_per_channel(ctx, tickets):
    rows = {row["channel"]: row for row in figures().tables()["channels"]}
    got = {
        name: (r["tickets"], r["corrected"], r["correction_rate"], r["corrections"])
        for name, r in rows.items()
    }
    assert got == {"email": (3, 3, 1.0, 4), "sms": (2, 0, 0.0, 2), "chat": (2, 1, 0.5, 1)}


def test_a_correction_after_the_range_counts_in_a_later_range(ctx, tickets):
    found = figures({"from": "2026-03-01", "to": "2026-03-04"})
    assert found.matrix[(Stage.PURCHASE, Stage.USE)].tickets == 3  # A, H and now E
    assert (Stage.UNKNOWN, Stage.DISCOVERY) in found.matrix  # F's second correction
    assert found.by_intake[Stage.UNKNOWN].corrections == 2


def test_filters_narrow_like_the_stage_report(ctx, tickets):
    assert {p: t.tickets for p, t in figures({**RANGE, "channel": "sms"}).matrix.items()} == {
        (Stage.DISCOVERY, Stage.DISCOVERY): 1,
        (Stage.USE, Stage.USE): 1,
    }
    by_agent = figures({**RANGE, "agent": str(tickets["ada"])})
    assert {p: t.tickets for p, t in by_agent.matrix.items()} == {(Stage.PURCHASE, Stage.USE): 1}
    by_team = figures({**RANGE, "team": str(tickets["team"])})
    assert (by_team.total.tickets, by_team.total.corrections) == (1, 2)  # C
    with pytest.raises(InvalidFilter):
        figures({"from": "2026-03-05", "to": "2026-03-01"})


def test_figures_come_from_one_query(ctx, tickets):
    statements = []
    engine = db.engine
    here = threading.get_ident()

    def listen(*args) -> None:
        # Only this thread's: a chat hub or webhook sender of an earlier test may still poll.
        if threading.get_ident() == here:
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", listen)
    try:
        figures()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(statements) == 1


def test_each_cell_lists_exactly_its_tickets(ctx, tickets):
    Cell = report.Cell
    assert listed(Cell(Stage.PURCHASE, Stage.USE)) == ids(tickets, "AH")
    # E is on "use" now, yet at the end of the range it still had its intake stage.
    assert listed(Cell(Stage.PURCHASE, Stage.PURCHASE)) == ids(tickets, "E")
    assert listed(Cell(Stage.PURCHASE, outcome="corrected")) == ids(tickets, "ABH")
    assert listed(Cell(outcome="changed")) == ids(tickets, "ABCFH")
    assert listed(Cell(outcome="kept")) == ids(tickets, "CDE")
    assert listed(Cell(rule="pricing-page")) == ids(tickets, "ABEH")
    assert listed(Cell(no_rule=True)) == ids(tickets, "F")
    assert listed(Cell(rule="pricing-page", final=Stage.USE, outcome="corrected")) == ids(
        tickets, "AH"
    )
    assert listed(Cell(), {**RANGE, "channel": "chat"}) == ids(tickets, "EF")


def test_a_drill_down_shows_each_tickets_outcome(ctx, tickets):
    chosen = ReportRange.from_args(RANGE, "UTC", TODAY)
    outcomes, _ = report.ticket_outcomes(chosen, report.Cell(outcome="changed"))
    got = {o.ticket.id: (o.final_stage, o.corrections) for o in outcomes}
    assert got[tickets["B"]] == (Stage.CULTIVATION, 2)
    assert got[tickets["C"]] == (Stage.DISCOVERY, 2)
    assert got[tickets["F"]] == (Stage.AWARENESS, 1)


def test_cell_arguments_round_trip_and_bad_ones_are_named():
    cell = report.Cell(Stage.PURCHASE, Stage.USE, rule="pricing-page", outcome="corrected")
    assert report.Cell.from_args(cell.args()) == cell
    with pytest.raises(InvalidFilter, match="intake"):
        report.Cell.from_args({"intake": "nowhere"})
    with pytest.raises(InvalidFilter, match="outcome"):
        report.Cell.from_args({"outcome": "lost"})


# --- page, drill-down, CSV and API ------------------------------------------------------------

QUERY = "from=2026-03-01&to=2026-03-02"


@pytest.fixture
def manager(client, login) -> int:
    return login(Role.MANAGER)


def numbers(tickets: dict[str, int], names: str) -> list[str]:
    with db.session.no_autoflush:
        return [f"#{db.session.get(Ticket, tickets[name]).number}" for name in names]


def linked_tickets(client, page: str, href_start: str) -> set[str]:
    """Follow the page's link that starts so, and read the ticket numbers it lists."""
    href = html.unescape(re.search(f'href="({re.escape(href_start)}[^"]*)"', page).group(1))
    listed = client.get(href)
    assert listed.status_code == 200
    return set(re.findall(r'<span class="num">(#\d+)</span>', listed.text))


def test_the_page_links_every_figure_to_exactly_its_tickets(client, tickets, manager, ctx):
    page = client.get(f"/reports/stage-corrections?{QUERY}")
    assert page.status_code == 200
    assert "Per stage rule" in page.text and "pricing-page" in page.text
    base = "/reports/stage-corrections/tickets?from=2026-03-01&amp;to=2026-03-02"
    cell = linked_tickets(client, page.text, f"{base}&amp;intake=purchase&amp;final=use")
    assert cell == set(numbers(tickets, "AH"))
    kept = linked_tickets(client, page.text, f"{base}&amp;intake=purchase&amp;final=purchase")
    assert kept == set(numbers(tickets, "E"))  # on "use" now, not at the end of the range
    no_rule = linked_tickets(client, page.text, f"{base}&amp;no_rule=1&amp;outcome=corrected")
    assert no_rule == set(numbers(tickets, "F"))
    sms = linked_tickets(client, page.text, f"{base}&amp;channel=sms&amp;outcome=changed")
    assert sms == set(numbers(tickets, "C"))


def test_the_dashboard_links_to_the_page(client, tickets, manager):
    page = client.get(f"/reports/stages?{QUERY}")
    assert "/reports/stage-corrections?from=2026-03-01&amp;to=2026-03-02" in page.text


def test_a_range_without_tickets_says_so(client, tickets, manager):
    page = client.get("/reports/stage-corrections?from=2025-01-01&to=2025-01-31")
    assert page.status_code == 200 and "No requests arrived in this range." in page.text
    listed = client.get("/reports/stage-corrections/tickets?from=2025-01-01&to=2025-01-31")
    assert "No ticket of this range is counted here." in listed.text


def test_bad_filters_are_named_and_reports_are_for_managers(client, tickets, login):
    login(Role.MANAGER)
    page = client.get("/reports/stage-corrections?from=2026-03-05&to=2026-03-01")
    assert page.status_code == 400 and "from must be on or before to" in page.text
    listed = client.get(f"/reports/stage-corrections/tickets?{QUERY}&intake=nowhere")
    assert listed.status_code == 400 and "intake must be a journey stage" in listed.text
    assert client.get(f"/reports/stage-corrections/tickets?{QUERY}&page=0").status_code == 400
    client.post("/logout")
    login(Role.AGENT)
    assert client.get(f"/reports/stage-corrections?{QUERY}").status_code == 403
    assert client.get(f"/reports/stage-corrections.csv?{QUERY}").status_code == 403


def test_the_csv_holds_the_pages_figures(client, tickets, manager):
    response = client.get(f"/reports/stage-corrections.csv?{QUERY}")
    assert "stage-corrections-2026-03-01-2026-03-02.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    matrix = [r for r in rows if r["table"] == "matrix"]
    assert {
        (r["intake_stage"], r["final_stage"], r["tickets"], r["corrections"]) for r in matrix
    } == {
        ("purchase", "use", "2", "2"),
        ("purchase", "cultivation", "1", "2"),
        ("purchase", "purchase", "1", "0"),
        ("discovery", "discovery", "1", "2"),
        ("use", "use", "1", "0"),
        ("unknown", "awareness", "1", "1"),
    }
    rule = next(r for r in rows if r["table"] == "rules" and r["rule"] == "pricing-page")
    assert (rule["tickets"], rule["corrected"], rule["correction_rate"]) == ("4", "3", "0.75")
    assert (rule["most_common_correction"], rule["most_common_correction_tickets"]) == ("use", "2")
    chat = next(r for r in rows if r["table"] == "channels" and r["channel"] == "chat")
    assert (chat["tickets"], chat["corrected"], chat["correction_rate"]) == ("2", "1", "0.5")
    assert len([r for r in rows if r["table"] == "intake_stages"]) == len(Stage)


def test_the_api_serves_the_same_figures_to_managers_only(
    client, tickets, setup, make_user, make_token
):
    with setup():
        manager = {"Authorization": f"Bearer {make_token(make_user(role=Role.MANAGER))}"}
        agent = {"Authorization": f"Bearer {make_token(make_user(role=Role.AGENT))}"}
    url = f"/api/v1/reports/stage-corrections?{QUERY}"
    body = client.get(url, headers=manager).get_json()
    assert (body["from"], body["to"], body["timezone"]) == ("2026-03-01", "2026-03-02", "UTC")
    assert body["total"] == {
        "tickets": 7,
        "corrected": 4,
        "correction_rate": 0.5714,
        "corrections": 7,
    }
    assert {"intake_stage": "purchase", "final_stage": "use", "tickets": 2, "corrections": 2} in (
        body["matrix"]
    )
    assert body["rules"][-1]["rule"] is None
    email = next(r for r in body["channels"] if r["channel"] == "email")
    assert (email["tickets"], email["corrected"], email["corrections"]) == (3, 3, 4)
    narrowed = client.get(f"{url}&channel=sms", headers=manager).get_json()
    assert narrowed["total"]["tickets"] == 2
    assert client.get(url, headers=agent).status_code == 403
    bad = client.get(f"{url}&channel=fax", headers=manager)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid"
    assert "channel" in bad.get_json()["error"]["message"]


def test_the_api_answers_the_documented_shape(client, tickets, setup, make_user, make_token):
    with setup():
        headers = {"Authorization": f"Bearer {make_token(make_user(role=Role.MANAGER))}"}
    document = client.get("/api/v1/openapi.json").get_json()
    path = "/api/v1/reports/stage-corrections"
    for query in (QUERY, "channel=fax", "from=2026-03-05&to=2026-03-01", "agent=abc"):
        conforms(document, path, "get", client.get(f"{path}?{query}", headers=headers))
