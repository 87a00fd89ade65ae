"""The satisfaction survey: one question when a ticket is solved, answers that never reopen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Direction, Message, Survey, Ticket, TicketStatus
from helpdesk.tickets import queries, service, surveys


@pytest.fixture
def csat_on(app: Flask) -> Iterator[None]:
    app.config["HELPDESK_CSAT"] = True
    yield
    app.config["HELPDESK_CSAT"] = False


def solve(setup, ticket_id: int) -> None:
    with setup():
        service.set_status(db.session.get(Ticket, ticket_id), None, TicketStatus.SOLVED)


def automatic_messages(ticket_id: int) -> list[Message]:
    return list(
        db.session.scalars(
            select(Message).where(Message.ticket_id == ticket_id, Message.auto_submitted)
        )
    )


def survey_of(ticket_id: int) -> Survey:
    db.session.expire_all()
    return db.session.scalar(select(Survey).where(Survey.ticket_id == ticket_id))


def test_surveys_are_off_unless_configured(app, setup, open_ticket):
    ticket_id = open_ticket()
    solve(setup, ticket_id)
    with app.app_context():
        assert automatic_messages(ticket_id) == [] and survey_of(ticket_id) is None


def test_solving_an_email_ticket_queues_one_automatic_question_with_a_link(
    app, setup, open_ticket, csat_on
):
    ticket_id = open_ticket(subject="Grinder noise")
    solve(setup, ticket_id)
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        [question] = automatic_messages(ticket_id)
        assert question.direction == Direction.OUTBOUND and question.author_id is None
        assert question.recipient == "ada@customer.test" and "[#" in question.subject
        assert "http://helpdesk.test/survey/" in question.text
        assert ticket.first_response_at is None  # automatic: no response by anyone
        # Reopened and solved again: still the one question.
        service.set_status(ticket, None, TicketStatus.OPEN)
        service.set_status(ticket, None, TicketStatus.SOLVED)
    with app.app_context():
        assert len(automatic_messages(ticket_id)) == 1
        # The question's words are on every asked ticket; they stay out of the word search.
        assert queries.ticket_page(queries.TicketFilter(q="click"), 10).items == []
        assert [e.kind for e in db.session.get(Ticket, ticket_id).events].count("survey") == 1


def test_a_bare_digit_by_sms_answers_the_survey_and_never_reopens(
    app, setup, inbound, open_ticket, csat_on
):
    ticket_id = open_ticket("sms", text="ORDER 2 bags")
    solve(setup, ticket_id)
    with app.app_context():
        assert automatic_messages(ticket_id)[0].text == surveys.SMS_QUESTION
    with setup():
        answer = service.receive(inbound("sms", text=" 4 "))
        assert answer.ticket_id == ticket_id and "(survey answer)" in answer.thread_reason
    with app.app_context():
        survey = survey_of(ticket_id)
        assert survey.score == 4 and survey.answered_at is not None
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.status == TicketStatus.SOLVED
        assert ticket.events[-1].kind == "csat" and ticket.events[-1].to_value == "4/5"
    with setup():  # anything more than a digit is a message, and it reopens as ever
        service.receive(inbound("sms", text="4 but the bags are still missing"))
    with app.app_context():
        assert db.session.get(Ticket, ticket_id).status == TicketStatus.OPEN
        assert survey_of(ticket_id).score == 4


def test_a_digit_on_a_ticket_that_asked_nothing_is_an_ordinary_message(
    app, setup, inbound, open_ticket
):
    ticket_id = open_ticket("sms", text="ORDER 2 bags")
    solve(setup, ticket_id)
    with setup():
        service.receive(inbound("sms", text="5"))
    with app.app_context():
        assert db.session.get(Ticket, ticket_id).status == TicketStatus.OPEN


def test_a_chat_ticket_gets_the_prompt_as_a_chat_message(app, setup, open_ticket, csat_on):
    ticket_id = open_ticket("chat", conversation_id="conv-1")
    solve(setup, ticket_id)
    with app.app_context():
        [prompt] = automatic_messages(ticket_id)
        assert prompt.channel.value == "chat" and prompt.text == surveys.CHAT_QUESTION
        assert survey_of(ticket_id).channel.value == "chat"


def test_a_bare_digit_in_the_chat_answers_the_survey_and_never_reopens(
    app, setup, inbound, open_ticket, csat_on
):
    # Once lost: the chat's "5" reopened the solved ticket and no rating was stored.
    ticket_id = open_ticket("chat", conversation_id="conv-7", sender="visitor-7")
    solve(setup, ticket_id)
    with setup():
        answer = service.receive(
            inbound("chat", text="5", conversation_id="conv-7", sender="visitor-7")
        )
        assert answer.ticket_id == ticket_id and "(survey answer)" in answer.thread_reason
    with app.app_context():
        assert survey_of(ticket_id).score == 5
        assert db.session.get(Ticket, ticket_id).status == TicketStatus.SOLVED
    with setup():  # words are a message, and they reopen as ever
        service.receive(
            inbound(
                "chat",
                text="5 stars, but one more thing",
                conversation_id="conv-7",
                sender="visitor-7",
            )
        )
    with app.app_context():
        assert db.session.get(Ticket, ticket_id).status == TicketStatus.OPEN
        assert survey_of(ticket_id).score == 5


def test_the_survey_page_stores_the_answer_and_takes_a_change(
    app, client, setup, open_ticket, csat_on
):
    ticket_id = open_ticket(subject="Grinder noise")
    solve(setup, ticket_id)
    with app.app_context():
        link = re.search(
            r"http://helpdesk\.test(/survey/\S+)", automatic_messages(ticket_id)[0].text
        )
    path = link.group(1)
    page = client.get(path, query_string={"score": "5"})
    assert page.status_code == 200 and "Grinder noise" in page.text
    # The link's suggestion is only preselected: nothing is stored by a GET.
    assert re.search(r'<input checked[^>]* value="5"', page.text)
    missing = client.post(path, data={"comment": "hm"})
    assert missing.status_code == 400 and 'id="score-error"' in missing.text
    done = client.post(path, data={"score": "5", "comment": "Quick and kind"})
    assert done.status_code == 302
    assert "We have your rating of 5 out of 5" in client.get(done.headers["Location"]).text
    client.post(path, data={"score": "3", "comment": ""})
    with app.app_context():
        survey = survey_of(ticket_id)
        assert (survey.score, survey.comment) == (3, None)
        assert db.session.get(Ticket, ticket_id).status == TicketStatus.SOLVED
    assert "You rated this 3 out of 5" in client.get(path).text


def test_a_forged_or_broken_survey_link_is_not_found(client, app, setup, open_ticket, csat_on):
    ticket_id = open_ticket()
    solve(setup, ticket_id)
    with app.app_context():
        token = automatic_messages(ticket_id)[0].text.split("/survey/")[1].split()[0]
    assert client.get(f"/survey/{token}x").status_code == 404
    assert client.get("/survey/1").status_code == 404


def test_the_survey_form_needs_its_csrf_token(app, client, setup, open_ticket, csat_on):
    ticket_id = open_ticket()
    solve(setup, ticket_id)
    with app.app_context():
        path = "/survey/" + automatic_messages(ticket_id)[0].text.split("/survey/")[1].split()[0]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(path, data={"score": "1"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400
    with app.app_context():
        assert survey_of(ticket_id).score is None


def test_a_score_outside_one_to_five_is_refused_by_the_service(ctx, open_ticket, csat_on):
    survey = Survey(ticket=db.session.get(Ticket, open_ticket()), channel="email")
    db.session.add(survey)
    for bad in (0, 6, "five", None):
        with pytest.raises(service.InvalidInput, match="from 1 to 5"):
            service.answer_survey(survey, bad)
