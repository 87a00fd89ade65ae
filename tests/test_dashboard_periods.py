"""The stage dashboard against the previous period, hot spots, date presets, and reactive /
proactive tickets, on hand-computed fixture data (UTC).

The report covers 8–10 March 2026, so the previous period is 5–7 March. Purchase has a
15-minute first-response target, use a 60-minute one; the other stages have none.

  previous  P1 purchase  5 Mar 10:00  answered after 30 min (breached)
            U1–U4 use    6 Mar        each answered after 10 min
            D1, D2 discovery 7 Mar    never answered (no target)
  current   C1 purchase  8 Mar 09:00  answered after 5 min
            C2 purchase  8 Mar 11:00  answered after 20 min (breached)
            C3 purchase  9 Mar 10:00  proactive (we wrote first), answered after 10 min
            C4 purchase 10 Mar 10:00  never answered (breached)
            U5 use       9 Mar 10:00  answered after 90 min (breached)
            A1 awareness 9 Mar 12:00  never answered (no target)

                 arrivals now / before   breach rate now / before
  purchase           4 / 1   (+3)         2 of 4 = 50 % / 1 of 1 = 100 %  (-50 pp)
  use                1 / 4   (-3)         1 of 1 = 100 % / 0 of 4 = 0 %   (+100 pp)
  discovery          0 / 2   (-2)         — / —
  awareness          1 / 0   (+1)         — / —
  all stages         6 / 7   (-1)         3 of 5 = 60 % / 1 of 5 = 20 %   (+40 pp)

Hot spots, each stage by its larger move: use +100 pp, purchase -50 pp, discovery -2 arrivals
(awareness' +1 is fourth).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Role, Stage
from helpdesk.reports import stage_load as report
from helpdesk.tickets import queries, service, sla
from helpdesk.web.manager import routes as manager_routes
from helpdesk.web.manager.charts import arrival_chart, axis_ticks

RANGE = {"from": "2026-03-08", "to": "2026-03-10"}
TODAY = date(2026, 3, 20)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def tickets(setup, make_user, inbound) -> dict[str, int]:
    with setup():
        sla.set_target("purchase", first_response=15, resolution=None)
        sla.set_target("use", first_response=60, resolution=None)
        agent = make_user(name="Ada Agent")

        def arrive(name, stage, at, answered_after=None, proactive=False):
            message = inbound(sender=f"{name.lower()}@customer.test", received_at=at)
            ticket = service.receive(message).ticket
            ticket.stage = ticket.intake_stage = Stage(stage)
            ticket.proactive = proactive
            sla.apply_targets(ticket)
            if answered_after is not None:
                service.reply(ticket, agent, "On it", at=at + timedelta(minutes=answered_after))
            return ticket

        made = [
            arrive("P1", "purchase", utc(5, 10), 30),
            *(arrive(f"U{n}", "use", utc(6, 9 + n), 10) for n in range(1, 5)),
            arrive("D1", "discovery", utc(7, 9)),
            arrive("D2", "discovery", utc(7, 10)),
            arrive("C1", "purchase", utc(8, 9), 5),
            arrive("C2", "purchase", utc(8, 11), 20),
            arrive("C3", "purchase", utc(9, 10), 10, proactive=True),
            arrive("C4", "purchase", utc(10, 10)),
            arrive("U5", "use", utc(9, 10), 90),
            arrive("A1", "awareness", utc(9, 12)),
        ]
        db.session.flush()
        sla.record_breaches(now=utc(15, 0))
        names = ["P1", "U1", "U2", "U3", "U4", "D1", "D2", "C1", "C2", "C3", "C4", "U5", "A1"]
        return {name: ticket.id for name, ticket in zip(names, made, strict=True)}


def chosen(**extra: str) -> report.ReportRange:
    return report.ReportRange.from_args({**RANGE, **extra}, "UTC", TODAY)


def test_the_previous_period_is_as_many_days_just_before():
    previous = chosen().previous()
    assert (previous.first_day, previous.last_day) == (date(2026, 3, 5), date(2026, 3, 7))
    one_day = report.ReportRange(date(2026, 3, 1), date(2026, 3, 1)).previous()
    assert (one_day.first_day, one_day.last_day) == (date(2026, 2, 28), date(2026, 2, 28))


def test_every_figure_is_compared_with_the_previous_period(ctx, tickets):
    comparison = report.compare(chosen())
    purchase = {name: comparison.change(name, Stage.PURCHASE) for name in report.COMPARED}
    assert (purchase["arrivals"].previous, purchase["arrivals"].delta) == (1, 3)
    assert (purchase["reactive_arrivals"].previous, purchase["reactive_arrivals"].delta) == (1, 2)
    assert (purchase["proactive_arrivals"].previous, purchase["proactive_arrivals"].delta) == (0, 1)
    # Now 300, 600 and 1,200 s (median rank 2, p90 rank 3); before 1,800 s alone.
    assert purchase["first_response_median_s"].delta == 600 - 1800
    assert purchase["first_response_p90_s"].delta == 1200 - 1800
    assert (purchase["sla_breach_rate"].previous, purchase["sla_breach_rate"].delta) == (1.0, -50)
    assert purchase["reopen_rate"].delta == 0
    assert purchase["csat"].delta is None  # nobody answered a survey in either period
    use = comparison.change("sla_breach_rate", Stage.USE)
    assert (use.previous, use.delta) == (0.0, 100)
    assert comparison.change("arrivals", Stage.DISCOVERY).delta == -2
    assert comparison.change("sla_breach_rate", Stage.DISCOVERY).delta is None
    everything = comparison.change("arrivals", None)
    assert (everything.previous, everything.delta) == (7, -1)
    assert comparison.change("sla_breach_rate", None).delta == 40  # 60 % against 20 %
    assert comparison.change("arrivals", Stage.PURCHASE, Channel.EMAIL).delta == 3


def test_hot_spots_name_the_three_stages_that_moved_most(ctx, tickets):
    spots = report.compare(chosen()).hot_spots()
    assert [(s.stage, s.figure, s.previous, s.current, s.delta) for s in spots] == [
        (Stage.USE, "sla_breach_rate", 0.0, 1.0, 100),
        (Stage.PURCHASE, "sla_breach_rate", 1.0, 0.5, -50),
        (Stage.DISCOVERY, "arrivals", 2, 0, -2),
    ]


def test_presets_end_today_in_the_helpdesks_days():
    found = {p.name: (p.first_day, p.last_day) for p in report.presets(date(2026, 5, 20))}
    assert found == {
        "today": (date(2026, 5, 20), date(2026, 5, 20)),
        "7d": (date(2026, 5, 14), date(2026, 5, 20)),
        "30d": (date(2026, 4, 21), date(2026, 5, 20)),
        "month": (date(2026, 5, 1), date(2026, 5, 20)),
        "quarter": (date(2026, 4, 1), date(2026, 5, 20)),
    }
    assert report.presets(date(2026, 12, 31))[-1].first_day == date(2026, 10, 1)
    assert report.ReportRange.from_args({}, "UTC", date(2026, 5, 20)).preset(date(2026, 5, 20)) == (
        "30d"
    )


def test_the_source_filter_counts_reactive_and_proactive_tickets_apart(ctx, tickets):
    whole = report.stage_load(chosen()).cell(Stage.PURCHASE)
    assert (whole.arrivals, whole.reactive_arrivals, whole.proactive_arrivals) == (4, 3, 1)
    proactive = report.stage_load(chosen(source="proactive")).cell(Stage.PURCHASE)
    assert (proactive.arrivals, proactive.proactive_arrivals) == (1, 1)
    reactive = report.stage_load(chosen(source="reactive")).cell(Stage.PURCHASE)
    assert (reactive.arrivals, reactive.sla_breach_rate) == (3, 2 / 3)  # C1, C2, C4
    with pytest.raises(queries.InvalidFilter):
        chosen(source="inbound")


@pytest.mark.parametrize(
    ("extra", "metric", "expected"),
    [
        ({}, "proactive_arrivals", {"C3"}),
        ({}, "reactive_arrivals", {"C1", "C2", "C4"}),
        ({"source": "proactive"}, "arrivals", {"C3"}),
        ({"source": "reactive"}, "sla_breach_rate", {"C2", "C4"}),
    ],
)
def test_the_split_and_the_source_filter_drill_down_to_their_tickets(
    ctx, tickets, extra, metric, expected
):
    args = report.drill_down(chosen(**extra), metric, Stage.PURCHASE, None)
    filters = queries.TicketFilter.from_args(args, me=0, timezone="UTC")
    found = {t.id for t in queries.ticket_page(filters, limit=200).items}
    assert found == {tickets[name] for name in expected}


def _page_table(html: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(stage, figure) → (data-value, data-previous) of the page's stage table."""
    table = html[html.index('id="stage-table"') : html.index("</table>", html.index("stage-table"))]
    found = {}
    for stage, row in re.findall(r'<tr[^>]*data-stage="(\w+)"[^>]*>(.*?)</tr>', table, re.S):
        for figure, cell in re.findall(r'data-figure="(\w+)">(.*?)</td>', row, re.S):
            value = re.search(r'data-value="([^"]*)"', cell).group(1)
            previous = re.search(r'data-previous="([^"]*)"', cell)
            found[(stage, figure)] = (value, previous.group(1) if previous else None)
    return found


def _same(page: str, table: str) -> bool:
    if page in ("", "None") or table == "":
        return page in ("", "None") and table == ""
    return round(float(page), 4) == float(table)


@pytest.fixture
def manager(client, setup, make_user, monkeypatch):
    monkeypatch.setattr(manager_routes, "local_today", lambda: TODAY)
    with setup():
        email = make_user(role=Role.MANAGER).email
    client.post("/login", data={"email": email, "password": "correct horse battery"})
    return client


def test_the_csv_holds_the_figures_the_page_shows(manager, tickets):
    page = manager.get("/reports/stages?from=2026-03-08&to=2026-03-10").text
    shown = _page_table(page)
    assert len(shown) == 10 * 10  # nine stages and all stages, ten figures each
    rows = csv.DictReader(io.StringIO(manager.get("/reports/stages.csv?" + _query()).text))
    totals = {row["stage"]: row for row in rows if row["channel"] == "all"}
    assert set(totals) == {*(stage.value for stage in Stage), "all"}
    for (stage, figure), (value, previous) in shown.items():
        assert _same(value, totals[stage][figure]), (stage, figure)
        if figure != "backlog":
            assert _same(previous, totals[stage][f"previous_{figure}"]), (stage, figure)
    assert (totals["all"]["arrivals"], totals["all"]["previous_arrivals"]) == ("6", "7")
    assert totals["purchase"]["proactive_arrivals"] == "1"
    assert "previous_backlog" not in totals["all"]


def _query() -> str:
    return "from=2026-03-08&to=2026-03-10"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_the_page_shows_changes_hot_spots_and_presets(manager, tickets):
    html = manager.get("/reports/stages?" + _query()).text
    text = _text(html)
    assert "▲ up 3 from 1" in text  # purchase arrivals; "up" is for screen readers
    assert "▼ down 50.0 pp from 50.0 %" not in text
    assert "▼ down 50.0 pp from 100.0 %" in text  # purchase breach rate
    hot = text[text.index("Hot spots") : text.index("Service load per stage")]
    assert "against 05 Mar – 07 Mar 2026" in hot
    assert "Use: SLA breach rate ▲ up 100.0 pp (0.0 % → 100.0 %)" in hot
    assert "Purchase: SLA breach rate ▼ down 50.0 pp (100.0 % → 50.0 %)" in hot
    assert "Discovery: arrivals ▼ down 2 (0 → 2)" not in hot
    assert "Discovery: arrivals ▼ down 2 (2 → 0)" in hot
    assert "Awareness" not in hot
    assert (
        "/tickets?stage=use&amp;created_from=2026-03-08&amp;created_to=2026-03-10"
        "&amp;has=sla_breach,reported" in html
    )
    # 20 March is "today": the preset links, none of them active for 8–10 March.
    assert 'href="/reports/stages?from=2026-03-14&amp;to=2026-03-20"' in html
    assert 'aria-current="true"' not in html
    week = manager.get("/reports/stages?from=2026-03-14&to=2026-03-20").text
    assert re.search(r'class="preset active"[^>]*aria-current="true">Last 7 days<', week)


def test_the_page_and_csv_follow_the_source_filter(manager, tickets):
    html = manager.get("/reports/stages?source=proactive&" + _query()).text
    shown = _page_table(html)
    assert shown[("purchase", "arrivals")][0] == "1"
    assert "has=proactive,reported" in html
    rows = csv.DictReader(
        io.StringIO(manager.get("/reports/stages.csv?source=proactive&" + _query()).text)
    )
    purchase = next(r for r in rows if (r["stage"], r["channel"]) == ("purchase", "all"))
    assert (purchase["arrivals"], purchase["reactive_arrivals"]) == ("1", "0")
    assert manager.get("/reports/stages?source=inbound").status_code == 400
    tickets_csv = manager.get("/reports/stages-tickets.csv?source=proactive&" + _query()).text
    assert tickets_csv.splitlines()[1].count(",proactive,") == 1
    assert len(tickets_csv.splitlines()) == 2


def test_the_api_adds_the_previous_period(client, tickets, setup, make_user, make_token):
    with setup():
        token = make_token(make_user(role=Role.MANAGER))
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/reports/stage-load?" + _query(), headers=headers).get_json()
    assert (body["previous_from"], body["previous_to"]) == ("2026-03-05", "2026-03-07")
    now = next(r for r in body["rows"] if (r["stage"], r["channel"]) == ("purchase", "email"))
    before = next(
        r for r in body["previous"] if (r["stage"], r["channel"]) == ("purchase", "email")
    )
    assert (now["arrivals"], now["reactive_arrivals"], now["proactive_arrivals"]) == (4, 3, 1)
    assert (now["sla_breach_rate"], before["sla_breach_rate"]) == (0.5, 1.0)
    assert (before["arrivals"], before["first_response_median_s"]) == (1, 1800)
    assert body["hot_spots"] == [
        {"stage": "use", "figure": "sla_breach_rate", "previous": 0, "current": 1, "change": 100},
        {
            "stage": "purchase",
            "figure": "sla_breach_rate",
            "previous": 1,
            "current": 0.5,
            "change": -50,
        },
        {"stage": "discovery", "figure": "arrivals", "previous": 2, "current": 0, "change": -2},
    ]
    proactive = client.get(
        "/api/v1/reports/stage-load?source=proactive&" + _query(), headers=headers
    ).get_json()
    assert sum(r["arrivals"] for r in proactive["rows"]) == 1
    bad = client.get("/api/v1/reports/stage-load?source=inbound", headers=headers)
    assert bad.status_code == 400 and "source" in bad.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0, 1]),
        (4, [0, 1, 2, 3, 4]),
        (7, [0, 2, 4, 6, 8]),
        (37, [0, 10, 20, 30, 40]),
        (216, [0, 50, 100, 150, 200, 250]),
    ],
)
def test_the_y_axis_has_round_ticks_up_to_the_highest_bar(peak, ticks):
    assert axis_ticks(peak) == ticks


def test_bars_stand_on_the_axis_with_their_values_written_where_they_fit():
    first, second = date(2026, 3, 8), date(2026, 3, 9)
    chart = arrival_chart({first: {Stage.PURCHASE: 3, Stage.USE: 1}, second: {}})
    assert [(t.value, t.y) for t in chart.ticks] == [(0, 224), (1, 174), (2, 124), (3, 74), (4, 24)]
    bar = chart.bars[0]
    # Two bars share 944 units right of the axis: 472 each, the bar 80 % of it.
    assert (bar.x, bar.width, bar.total, bar.top) == (103.2, 377.6, 4, 24)
    assert [(s.stage, s.count, s.y, s.height, s.labelled) for s in bar.segments] == [
        (Stage.PURCHASE, 3, 74, 150, True),
        (Stage.USE, 1, 24, 50, True),
    ]
    assert chart.bars[1].segments == () and chart.daily


def test_each_stage_has_its_own_okabe_ito_colour_and_unknown_is_grey():
    css = (Path(manager_routes.__file__).parents[2] / "static" / "app.css").read_text()
    colours = dict(re.findall(r"\.fill-(\w+), \.stage-\w+ \{ --stage-colour: (#\w+); \}", css))
    assert colours == {
        "awareness": "#E69F00",
        "discovery": "#56B4E9",
        "attraction": "#009E73",
        "interaction": "#F0E442",
        "purchase": "#0072B2",
        "use": "#D55E00",
        "cultivation": "#CC79A7",
        "advocacy": "#000000",
        "unknown": "#999999",
    }


def test_the_page_draws_axes_values_and_a_legend(manager, tickets):
    html = manager.get("/reports/stages?" + _query()).text
    svg = html[html.index('<svg class="chart"') : html.index("</svg>")]
    # 8 March: C1, C2; 9 March: C3, U5, A1; 10 March: C4. Ticks up to 3, each total on its bar.
    ticks = re.findall(r'class="tick" text-anchor="end">(\d+)<', svg)
    assert [int(v) for v in ticks] == [0, 1, 2, 3]
    assert re.findall(r'class="value" text-anchor="middle">(\d+)<', svg) == ["2", "3", "1"]
    assert ">08 Mar<" in svg and ">10 Mar<" in svg
    legend = html[html.index('<ul class="legend">') : html.index("</ul>")]
    assert [label for label in re.findall(r"</span>(\w+)</li>", legend)] == [
        "Awareness",
        "Discovery",
        "Attraction",
        "Interaction",
        "Purchase",
        "Use",
        "Cultivation",
        "Advocacy",
        "Unknown",
    ]
