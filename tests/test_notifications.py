"""Being told: an agent's own live stream carries tickets given to them and new chats for their
teams, and nothing meant for someone else."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpdesk import teams
from helpdesk.chat import events
from helpdesk.chat.hub import hub_of
from helpdesk.extensions import db
from helpdesk.models import Team, Ticket, User
from helpdesk.tickets import service

PASSWORD = "correct horse battery"


# The tests work in app contexts of their own (``setup``), never around a request: requests
# inside one would share its ``g``, and with it the first agent's login.


@pytest.fixture(autouse=True)
def _short_streams(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stream then sends what it has and ends at once, instead of waiting for more.
    monkeypatch.setitem(app.config, "HELPDESK_CHAT_STREAM_SECONDS", 0)


@pytest.fixture
def now(setup) -> Callable[[], int]:
    """The newest event id: where a stream opened now would start."""

    def read() -> int:
        with setup():
            return events.latest_id()

    return read


@pytest.fixture
def agent_client(app: Flask, setup, make_user) -> Callable[..., tuple[FlaskClient, int]]:
    """``agent_client(name)``: a logged-in browser of a new agent, and the agent's id."""

    def build(name: str) -> tuple[FlaskClient, int]:
        with setup():
            user = make_user(name=name)
            email, user_id = user.email, user.id
        browser = app.test_client()
        response = browser.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302
        return browser, user_id

    return build


def told(browser: FlaskClient, after: int | None = None) -> list[dict]:
    """What the agent's stream sends from ``after`` (a reconnect's Last-Event-ID)."""
    headers = {"Last-Event-ID": str(after)} if after is not None else {}
    response = browser.get("/me/live", headers=headers)
    assert response.mimetype == "text/event-stream"
    payloads = []
    for line in response.text.splitlines():
        if line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: "):
            payloads.append({"id": event_id, **json.loads(line[6:])})
    return payloads


@pytest.fixture
def assign(setup) -> Callable[[int, int | None, int | None], None]:
    """``assign(ticket_id, actor_id, assignee_id)``, committed; no actor: the system."""

    def run(ticket_id: int, actor_id: int | None, assignee_id: int | None) -> None:
        with setup():
            actor = db.session.get(User, actor_id) if actor_id else None
            assignee = db.session.get(User, assignee_id) if assignee_id else None
            service.assign(db.session.get(Ticket, ticket_id), actor, assignee)

    return run


def number_of(ticket_id: int) -> int:
    return db.session.get(Ticket, ticket_id).number


def test_a_ticket_given_to_an_agent_is_told_to_that_agent_only(
    setup, agent_client, open_ticket, assign, now
):
    ticket_id = open_ticket(subject="Where is my parcel?")
    grace, grace_id = agent_client("Grace Hopper")
    alan, alan_id = agent_client("Alan Turing")
    start = now()

    assign(ticket_id, alan_id, grace_id)

    [event] = told(grace, start)
    assert (event["type"], event["ticket_id"], event["assignee_id"]) == (
        "assigned",
        ticket_id,
        grace_id,
    )
    with setup():
        assert event["number"] == number_of(ticket_id)
    assert (event["subject"], event["by"], event["by_id"]) == (
        "Where is my parcel?",
        "Alan Turing",
        alan_id,
    )
    assert told(alan, start) == []
    # A reconnect resumes after what it saw: nothing is told twice.
    assert told(grace, event["id"]) == []


def test_taking_a_ticket_yourself_or_giving_it_to_nobody_tells_nobody(
    agent_client, open_ticket, assign, now
):
    ticket_id = open_ticket()
    grace, grace_id = agent_client("Grace Hopper")
    alan, _ = agent_client("Alan Turing")
    start = now()

    assign(ticket_id, grace_id, grace_id)
    assign(ticket_id, grace_id, None)

    assert told(grace, start) == []
    assert told(alan, start) == []


def test_a_ticket_the_system_assigns_is_told_to_its_agent(agent_client, open_ticket, assign, now):
    ticket_id = open_ticket()
    grace, grace_id = agent_client("Grace Hopper")
    start = now()

    assign(ticket_id, None, grace_id)

    [event] = told(grace, start)
    assert (event["type"], event["by"], event["by_id"]) == ("assigned", None, None)


def test_a_stream_opened_without_a_resume_point_starts_from_now(agent_client, open_ticket, assign):
    ticket_id = open_ticket()
    grace, grace_id = agent_client("Grace Hopper")
    assign(ticket_id, None, grace_id)

    assert told(grace) == []


def test_a_long_subject_is_told_short(agent_client, open_ticket, assign, now):
    ticket_id = open_ticket(subject="Refund " * 40)
    grace, grace_id = agent_client("Grace Hopper")
    start = now()

    assign(ticket_id, None, grace_id)

    [event] = told(grace, start)
    assert len(event["subject"]) == events.SHORT_SUBJECT
    assert event["subject"].startswith("Refund Refund") and event["subject"].endswith("…")


@pytest.fixture
def make_team(setup) -> Callable[..., int]:
    """``make_team(name, *agent_ids)``: a committed team of those agents; returns its id."""

    def build(name: str, *member_ids: int) -> int:
        with setup():
            team = teams.create_team(name)
            teams.set_members(team, [db.session.get(User, user_id) for user_id in member_ids])
            return team.id

    return build


def test_a_new_chat_of_a_team_is_told_to_its_members_and_not_to_other_teams(
    setup, agent_client, open_ticket, make_team, now
):
    grace, grace_id = agent_client("Grace Hopper")
    alan, alan_id = agent_client("Alan Turing")
    sales = make_team("Sales", grace_id)
    make_team("Billing", alan_id)
    ticket_id = open_ticket("chat", text="Do you ship to Norway?")
    start = now()

    # What intake publishes for a new chat, once routing has put it in a team.
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        service.set_team(ticket, None, db.session.get(Team, sales))
        events.publish_new_ticket(ticket)

    [event] = told(grace, start)
    assert (event["type"], event["ticket_id"], event["team_id"]) == ("ticket", ticket_id, sales)
    with setup():
        assert event["number"] == number_of(ticket_id)
    assert told(alan, start) == []


def test_a_new_chat_of_no_team_is_told_to_everyone(agent_client, open_ticket, make_team, now):
    grace, grace_id = agent_client("Grace Hopper")
    alan, _ = agent_client("Alan Turing")
    make_team("Sales", grace_id)
    start = now()

    ticket_id = open_ticket("chat", text="Hello?")

    for browser in (grace, alan):
        assert [(e["type"], e["ticket_id"]) for e in told(browser, start)] == [
            ("ticket", ticket_id)
        ]


def test_new_email_tickets_tell_nobody(agent_client, open_ticket, now):
    grace, _ = agent_client("Grace Hopper")
    start = now()

    open_ticket("email")

    assert told(grace, start) == []


def test_an_assignment_wakes_the_assignees_stream_only(
    app, agent_client, open_ticket, assign, monkeypatch
):
    ticket_id = open_ticket()
    _, grace_id = agent_client("Grace Hopper")
    _, alan_id = agent_client("Alan Turing")
    announced: list[set[str]] = []
    monkeypatch.setattr(hub_of(app), "announce", announced.append)

    assign(ticket_id, alan_id, grace_id)

    [keys] = announced
    assert events.agent_key(grace_id) in keys
    assert events.agent_key(alan_id) not in keys
    assert events.agent_key(grace_id) in events.Stream(agent_id=grace_id).keys
