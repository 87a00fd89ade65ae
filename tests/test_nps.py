"""NPS beside CSAT: the question each stage asks, how often a customer is asked, the figures
(hand-computed), and the follow-up of unhappy answers in both modes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from test_chat import Widget

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    AuditEvent,
    Direction,
    FollowUpMode,
    Role,
    Stage,
    Survey,
    SurveyKind,
    Ticket,
    TicketStatus,
    User,
)
from helpdesk.reports.stage_load import ReportRange
from helpdesk.reports.survey_figures import survey_figures
from helpdesk.tickets import queries, service, survey_settings, surveys

DAY = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
NO_STAGE_CHOICE = dict.fromkeys(Stage)


def per_stage(**kinds: str) -> dict[Stage, SurveyKind | None]:
    return {**NO_STAGE_CHOICE, **{Stage(s): SurveyKind(k) for s, k in kinds.items()}}


@pytest.fixture
def nps_for_use(setup):
    """Use asks NPS, purchase CSAT, the rest nothing; unhappy answers are flagged."""
    with setup():
        survey_settings.save(per_stage(use="nps", purchase="csat"), FollowUpMode.FLAG, 30)


def ticket_at(setup, inbound, stage: str, channel: str = "email", n: int = 0, **fields) -> int:
    """A ticket of its own customer (``n`` tells them apart) at ``stage``."""
    sender = f"c{n}@customer.test" if channel == "email" else f"+1555000{n:04d}"
    with setup():
        ticket = service.receive(inbound(channel, sender=sender, received_at=DAY, **fields)).ticket
        ticket.stage = ticket.intake_stage = Stage(stage)
        return ticket.id


def solve(setup, ticket_id: int, at: datetime = DAY, actor=None) -> Survey | None:
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        service.set_status(ticket, actor, TicketStatus.SOLVED, at=at)
        return service.survey_of(ticket)


def answer(setup, ticket_id: int, score: int, comment: str | None = None, at=DAY) -> None:
    with setup():
        survey = service.survey_of(db.session.get(Ticket, ticket_id))
        service.answer_survey(survey, score, comment, at=at)


def survey(ticket_id: int) -> Survey:
    db.session.expire_all()
    return db.session.scalar(select(Survey).where(Survey.ticket_id == ticket_id))


# --- what is asked ---------------------------------------------------------------------------


def test_each_stage_asks_its_own_question_on_the_tickets_channel(app, setup, inbound, nps_for_use):
    use_email = ticket_at(setup, inbound, "use", n=1)
    use_sms = ticket_at(setup, inbound, "use", "sms", n=2)
    purchase = ticket_at(setup, inbound, "purchase", n=3)
    awareness = ticket_at(setup, inbound, "awareness", n=4)
    for each in (use_email, use_sms, purchase, awareness):
        solve(setup, each)
    with app.app_context():
        assert survey(use_email).kind == SurveyKind.NPS
        assert "0 (not at all likely) to 10" in survey(use_email).question.text
        assert survey(use_sms).question.text == surveys.SMS_NPS_QUESTION
        assert surveys.SMS_NPS_QUESTION.isascii()  # one segment of plain GSM text
        assert survey(purchase).kind == SurveyKind.CSAT
        assert survey(awareness) is None  # no survey for this stage


def test_a_bare_number_by_sms_answers_nps_with_0_to_10_and_never_reopens(
    app, setup, inbound, nps_for_use
):
    ticket_id = ticket_at(setup, inbound, "use", "sms", n=5)
    solve(setup, ticket_id)
    with setup():
        stored = service.receive(inbound("sms", sender="+15550000005", text=" 0 ", received_at=DAY))
        assert "(survey answer)" in stored.thread_reason
    with app.app_context():
        assert survey(ticket_id).score == 0 and survey(ticket_id).stage == Stage.USE
        assert db.session.get(Ticket, ticket_id).status == TicketStatus.SOLVED
    with setup():  # 11 is no answer on a 0-10 scale: an ordinary message, which reopens
        service.receive(inbound("sms", sender="+15550000005", text="11", received_at=DAY))
    with app.app_context():
        assert survey(ticket_id).score == 0
        assert db.session.get(Ticket, ticket_id).status == TicketStatus.OPEN


def test_scores_are_checked_against_the_kinds_range(app, setup, inbound, nps_for_use):
    nps_ticket = ticket_at(setup, inbound, "use", n=6)
    csat_ticket = ticket_at(setup, inbound, "purchase", n=7)
    solve(setup, nps_ticket)
    solve(setup, csat_ticket)
    with app.app_context():
        for bad in (-1, 11, "ten", None):
            with pytest.raises(service.InvalidInput, match="from 0 to 10"):
                service.answer_survey(survey(nps_ticket), bad)
        with pytest.raises(service.InvalidInput, match="from 1 to 5"):
            service.answer_survey(survey(csat_ticket), 0)
        service.answer_survey(survey(nps_ticket), 10)
        service.answer_survey(survey(csat_ticket), 5)


def test_a_customer_is_asked_at_most_once_in_the_interval(app, setup, inbound, nps_for_use):
    first = ticket_at(setup, inbound, "use", n=8)
    second = ticket_at(setup, inbound, "purchase", n=8, subject="Another one")
    later = ticket_at(setup, inbound, "use", n=8, subject="And another")
    solve(setup, first, DAY)
    solve(setup, second, DAY + timedelta(days=29))
    solve(setup, later, DAY + timedelta(days=30, seconds=1))
    with app.app_context():
        assert survey(first) is not None
        assert survey(second) is None  # asked 29 days ago
        assert survey(later) is not None  # 30 days have passed


def test_helpdesk_csat_alone_still_asks_csat_after_every_solved_ticket(app, setup, inbound):
    app.config["HELPDESK_CSAT"] = True
    try:
        one = ticket_at(setup, inbound, "use", n=9)
        two = ticket_at(setup, inbound, "awareness", n=9, subject="Second")
        solve(setup, one)
        solve(setup, two, DAY + timedelta(hours=1))
        with app.app_context():
            assert survey(one).kind == survey(two).kind == SurveyKind.CSAT
        with setup():  # once stages are chosen, they decide
            survey_settings.save(per_stage(use="nps"), FollowUpMode.FLAG, 30)
        three = ticket_at(setup, inbound, "awareness", n=10)
        solve(setup, three)
        with app.app_context():
            assert survey(three) is None
    finally:
        app.config["HELPDESK_CSAT"] = False


def test_a_survey_counts_under_the_stage_its_ticket_had_when_answered(
    app, setup, inbound, nps_for_use
):
    ticket_id = ticket_at(setup, inbound, "use", n=11)
    solve(setup, ticket_id)
    answer(setup, ticket_id, 9)
    with setup():
        service.set_stage(db.session.get(Ticket, ticket_id), None, "advocacy")
    with app.app_context():
        assert survey(ticket_id).stage == Stage.USE


# --- figures ---------------------------------------------------------------------------------


def answered(setup, inbound, stage, channel, kind, scores, start, at=DAY) -> None:
    """Surveys of ``kind`` answered with these scores, one customer each."""
    with setup():
        for n, score in enumerate(scores, start):
            sender = f"f{n}@customer.test" if channel == "email" else f"+1555100{n:04d}"
            ticket = service.receive(inbound(channel, sender=sender, received_at=at)).ticket
            ticket.stage = Stage(stage)
            ticket.status = TicketStatus.SOLVED
            found = service.ask_for_rating(ticket, at, kind=SurveyKind(kind))
            service.answer_survey(found, score, at=at)


def report(**narrowing) -> ReportRange:
    return ReportRange(date(2026, 11, 1), date(2026, 11, 7), **narrowing)


def test_nps_and_csat_figures_per_stage_and_channel(app, setup, inbound):
    # Use by email, 10 NPS answers: 3 promoters (9, 10, 9), 5 passives (7, 8, 7, 8, 7),
    # 2 detractors (0, 6): 30 % - 20 % = 10.
    answered(setup, inbound, "use", "email", "nps", [9, 10, 9, 7, 8, 7, 8, 7, 0, 6], 0)
    # Use by SMS, 9 answers: too few for an NPS (shown "—"), though counted.
    answered(setup, inbound, "use", "sms", "nps", [10] * 9, 100)
    # Purchase by email, CSAT 5, 4, 2, 1: average 3.0, 2 of 4 happy = 50 %.
    answered(setup, inbound, "purchase", "email", "csat", [5, 4, 2, 1], 200)
    # Answered a week before the range: left out.
    answered(setup, inbound, "use", "email", "nps", [0], 300, at=DAY - timedelta(days=7))
    with app.app_context():
        figures = survey_figures(report())
        assert figures.cell(Stage.USE, Channel.EMAIL).figures() == {
            "csat_percent": None,
            "csat_responses": 0,
            "nps": 10,
            "nps_responses": 10,
        }
        assert figures.cell(Stage.USE, Channel.SMS).nps is None
        assert figures.cell(Stage.USE, Channel.SMS).nps_responses == 9
        # Use over both channels: 19 answers, 12 promoters, 2 detractors: 52.6 % -> 53.
        assert figures.cell(Stage.USE).nps == 53
        assert figures.cell(Stage.PURCHASE, Channel.EMAIL).csat == 3.0
        assert figures.cell(Stage.PURCHASE, Channel.EMAIL).figures() == {
            "csat_percent": 50.0,
            "csat_responses": 4,
            "nps": None,
            "nps_responses": 0,
        }
        assert figures.cell().nps_responses == 19 and figures.cell().csat_responses == 4
        # The trend: a point per day; every answer came on 2 November.
        assert [p.first_day for p in figures.trend] == report().days
        [busy] = [p for p in figures.trend if p.cell.nps_responses]
        assert busy.first_day == date(2026, 11, 2) and busy.cell.nps == 53
        # Narrowed to SMS: only the nine.
        assert survey_figures(report(channel=Channel.SMS)).cell().nps_responses == 9


def test_nps_of_all_detractors_is_minus_100_and_the_trend_goes_weekly_past_31_days(
    app, setup, inbound
):
    answered(setup, inbound, "advocacy", "email", "nps", [3] * 10, 400)
    with app.app_context():
        assert survey_figures(report()).cell(Stage.ADVOCACY).nps == -100
        long = ReportRange(date(2026, 10, 1), date(2026, 11, 30))  # 61 days
        trend = survey_figures(long).trend
        assert len(trend) == 9 and trend[1].first_day == date(2026, 10, 8)
        # 2 November is in the week of 29 October.
        assert [p.first_day for p in trend if p.cell.nps_responses] == [date(2026, 10, 29)]


# --- follow-ups ------------------------------------------------------------------------------


def test_flag_mode_lists_the_rated_ticket_until_an_agent_clears_it(
    app, setup, inbound, make_user, nps_for_use
):
    ticket_id = ticket_at(setup, inbound, "use", n=12)
    happy = ticket_at(setup, inbound, "use", n=13)
    solve(setup, ticket_id)
    solve(setup, happy)
    answer(setup, ticket_id, 6, "Took too long")  # a detractor
    answer(setup, happy, 7)  # a passive: nothing to follow up
    flagged = queries.TicketFilter(has=(queries.Trait.FOLLOW_UP,))
    with app.app_context():
        assert [t.id for t in queries.ticket_page(flagged, 10).items] == [ticket_id]
        assert survey(happy).follow_up is None
    with setup():
        agent = make_user(name="Flo")
        service.mark_followed_up(
            db.session.get(Ticket, ticket_id), agent, at=DAY + timedelta(hours=3)
        )
    with app.app_context():
        assert queries.ticket_page(flagged, 10).items == []
        with pytest.raises(service.InvalidInput, match="already"):
            service.mark_followed_up(db.session.get(Ticket, ticket_id), agent)
        follow = survey_figures(report()).follow_ups
        assert (follow.opened, follow.done, follow.median_hours) == (1, 1, 3.0)


def test_ticket_mode_opens_an_internal_ticket_for_the_agent_who_handled_it(
    app, setup, inbound, make_user
):
    with setup():
        survey_settings.save(per_stage(purchase="csat"), FollowUpMode.TICKET, 30)
        agent_id = make_user(name="Handler").id
    ticket_id = ticket_at(setup, inbound, "purchase", n=14)
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        service.assign(ticket, None, db.session.get(User, agent_id))
    solve(setup, ticket_id)
    answer(setup, ticket_id, 2, "Rude")
    with app.app_context():
        rated = survey(ticket_id)
        follow_up = rated.follow_up_ticket
        assert rated.follow_up == FollowUpMode.TICKET
        assert follow_up.customer_id == rated.ticket.customer_id
        assert follow_up.assignee_id == agent_id and follow_up.previous_ticket_id == ticket_id
        assert follow_up.status == TicketStatus.NEW and follow_up.stage == Stage.PURCHASE
        # Nothing goes to the customer: one internal note with the answer and comment.
        [note] = follow_up.messages
        assert note.direction == Direction.NOTE and "CSAT 2/5" in note.text and "Rude" in note.text
        assert survey_figures(report()).follow_ups.done == 0
        follow_up_id = follow_up.id
    with setup():  # the handler's first note follows it up, five hours later
        agent = db.session.get(User, agent_id)
        follow_up = db.session.get(Ticket, follow_up_id)
        service.add_note(follow_up, agent, "Called them", at=DAY + timedelta(hours=5))
    with app.app_context():
        follow = survey_figures(report()).follow_ups
        assert (follow.opened, follow.done, follow.median_hours) == (1, 1, 5.0)


# --- the admin page --------------------------------------------------------------------------


def test_the_admin_page_saves_each_stages_question_and_audits_it(app, client, login):
    login(Role.ADMIN)
    page = client.get("/admin/surveys")
    assert page.status_code == 200 and "Surveys per journey stage" in page.text
    form = {f"{stage.value}_kind": "" for stage in Stage}
    bad = client.post(
        "/admin/surveys",
        data={**form, "use_kind": "nps", "follow_up": "ticket", "ask_interval_days": "-3"},
    )
    assert bad.status_code == 400 and "Between 0 and 365 days." in bad.text
    good = client.post(
        "/admin/surveys",
        data={**form, "use_kind": "nps", "follow_up": "ticket", "ask_interval_days": "14"},
    )
    assert good.status_code == 302
    with app.app_context():
        assert survey_settings.stage_kinds() == {Stage.USE: SurveyKind.NPS}
        policy = survey_settings.policy()
        assert (policy.follow_up, policy.ask_interval_days) == (FollowUpMode.TICKET, 14)
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"stage_survey.created", "survey_policy.created"} <= actions


def test_agents_may_not_open_the_survey_settings(client, login):
    login(Role.AGENT)
    assert client.get("/admin/surveys").status_code == 403


# --- the pages -------------------------------------------------------------------------------


def test_the_email_link_offers_0_to_10_and_keeps_the_comment(app, setup, inbound, client):
    with setup():
        survey_settings.save(per_stage(use="nps"), FollowUpMode.FLAG, 30)
    ticket_id = ticket_at(setup, inbound, "use", n=20)
    solve(setup, ticket_id)
    with app.app_context():
        url = surveys.survey_url(survey(ticket_id)).removeprefix("http://helpdesk.test")
    page = client.get(url)
    assert page.status_code == 200 and "recommend us" in page.text
    assert 'value="0"' in page.text and 'value="10"' in page.text
    refused = client.post(url, data={"score": "11"})
    assert refused.status_code == 400
    sent = client.post(url, data={"score": "10", "comment": "Lovely"})
    assert sent.status_code == 302
    assert "out of 10" in client.get(sent.headers["Location"]).text
    with app.app_context():
        assert (survey(ticket_id).score, survey(ticket_id).comment) == (10, "Lovely")


def test_both_tickets_link_to_each_other_and_a_flag_is_cleared_from_the_page(
    app, setup, inbound, client, login
):
    with setup():
        survey_settings.save(per_stage(use="nps", purchase="csat"), FollowUpMode.TICKET, 0)
    rated_id = ticket_at(setup, inbound, "use", n=21)
    solve(setup, rated_id)
    answer(setup, rated_id, 2, "Slow")
    with app.app_context():
        follow_up = survey(rated_id).follow_up_ticket
        follow_up_id, follow_up_number = follow_up.id, follow_up.number
        rated_number = follow_up.previous_ticket.number
    login(Role.AGENT)
    assert f'Follow-up: <a href="/tickets/{follow_up_id}">#{follow_up_number}</a>' in (
        client.get(f"/tickets/{rated_id}").text
    )
    assert f"#{rated_number}</a>.\n  Nothing was sent to the customer." in (
        client.get(f"/tickets/{follow_up_id}").text
    )
    with setup():  # the flag mode from now on
        survey_settings.save(per_stage(use="nps"), FollowUpMode.FLAG, 0)
    flagged_id = ticket_at(setup, inbound, "use", n=22)
    solve(setup, flagged_id)
    answer(setup, flagged_id, 0)
    queue = client.get("/tickets?has=follow_up")
    assert "To follow up" in queue.text and f"/tickets/{flagged_id}" in queue.text
    assert "Mark followed up" in client.get(f"/tickets/{flagged_id}").text
    done = client.post(f"/tickets/{flagged_id}/followed-up")
    assert done.status_code == 302
    assert "Followed up" in client.get(f"/tickets/{flagged_id}").text
    # A second agent's stale page posts again: told, nothing changes.
    again = client.post(f"/tickets/{flagged_id}/followed-up", follow_redirects=True)
    assert "Not changed: this ticket was already followed up." in again.text
    assert f'/tickets/{flagged_id}"' not in client.get("/tickets?has=follow_up").text


def test_the_api_and_the_dashboard_show_the_survey_figures(
    app, client, setup, inbound, make_user, make_token
):
    answered(setup, inbound, "use", "email", "nps", [9, 10, 9, 7, 8, 7, 8, 7, 0, 6], 500)
    answered(setup, inbound, "purchase", "sms", "csat", [5, 4, 2, 1], 600)
    with setup():
        token = make_token(make_user(role=Role.MANAGER, email="m@shop.test"))
    url = "/api/v1/reports/stage-load?from=2026-11-01&to=2026-11-07"
    body = client.get(url, headers={"Authorization": f"Bearer {token}"}).get_json()
    rows = {(r["stage"], r["channel"]): r for r in body["rows"]}
    assert (rows["use", "email"]["nps"], rows["use", "email"]["nps_responses"]) == (10, 10)
    assert rows["purchase", "sms"]["csat_percent"] == 50.0
    assert rows["purchase", "sms"]["csat_responses"] == 4
    assert rows["use", "sms"]["nps"] is None and rows["use", "sms"]["nps_responses"] == 0
    assert len(body["survey_trend"]) == 7
    assert body["survey_trend"][1] == {
        "first_day": "2026-11-02",
        "csat": 3.0,
        "csat_percent": 50.0,
        "csat_responses": 4,
        "nps": 10,
        "nps_responses": 10,
    }
    # One detractor of each kind: 0, 6 (NPS) and 2, 1 (CSAT), flagged, none followed up yet.
    assert body["survey_follow_ups"] == {"opened": 4, "done": 0, "median_hours": None}
    client.post("/login", data={"email": "m@shop.test", "password": "correct horse battery"})
    page = client.get("/reports/stages?from=2026-11-01&to=2026-11-07")
    assert page.status_code == 200 and "Surveys" in page.text
    assert "+10 <small>(10)</small>" in page.text  # use by email
    assert "3.0 · 50% <small>(4)</small>" in page.text  # purchase by SMS
    assert "<b>0</b> of <b>4</b> followed up" in page.text


def test_the_chat_question_carries_its_scale_and_the_comment_endpoint_checks_input(
    app, client, setup, make_site
):
    with setup():
        survey_settings.save(per_stage(attraction="csat"), FollowUpMode.FLAG, 30)
        key = make_site(url_rules=[("/pricing*", Stage.ATTRACTION)]).address
    widget = Widget(client, key)
    widget.start(name="Cy", email="cy@customer.test", page_url="https://shop.example/pricing")
    widget.send("Hello", page_url="https://shop.example/pricing")
    # Nothing to comment on before the question.
    assert (
        widget.post("/survey-comment", {"token": widget.token, "comment": "Hi"}).status_code == 404
    )
    with setup():
        ticket = db.session.scalar(select(Ticket))
        service.set_status(ticket, None, TicketStatus.SOLVED)
    [question] = [e for e in widget.stream() if e.get("survey")]
    assert question["survey"] == {
        "kind": "csat",
        "scores": [1, 2, 3, 4, 5],
        "low": "Very poor",
        "high": "Excellent",
    }
    assert widget.send("5").status_code == 201  # what the button sends
    too_long = widget.post("/survey-comment", {"token": widget.token, "comment": "x" * 2001})
    assert too_long.status_code == 400 and "too long" in too_long.json["error"]["message"]
    empty = widget.post("/survey-comment", {"token": widget.token, "comment": "  "})
    assert empty.status_code == 400
    forged = widget.post("/survey-comment", {"token": "forged", "comment": "Hi"})
    assert forged.status_code == 403
    kept = widget.post("/survey-comment", {"token": widget.token, "comment": "Quick, thanks"})
    assert kept.status_code == 201
    with app.app_context():
        rated = db.session.scalar(select(Survey))
        assert (rated.score, rated.comment) == (5, "Quick, thanks")
        assert db.session.get(Ticket, rated.ticket_id).status == TicketStatus.SOLVED


def test_the_stage_csv_holds_the_survey_figures_the_page_shows(app, setup, inbound, client, login):
    answered(setup, inbound, "use", "email", "nps", [9, 10, 9, 7, 8, 7, 8, 7, 0, 6], 0)
    answered(setup, inbound, "purchase", "email", "csat", [5, 4, 2, 1], 200)
    login(Role.MANAGER)
    csv_text = client.get("/reports/stages.csv?from=2026-11-01&to=2026-11-07").text
    rows = {(r["stage"], r["channel"]): r for r in csv.DictReader(io.StringIO(csv_text))}
    assert (rows["use", "email"]["nps"], rows["use", "email"]["nps_responses"]) == ("10", "10")
    assert rows["purchase", "all"]["csat_percent"] == "50.0"
    assert rows["all", "all"]["csat_responses"] == "4"
    assert rows["all", "all"]["nps_responses"] == "10"
