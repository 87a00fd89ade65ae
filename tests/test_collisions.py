"""Collision detection: every ticket page follows its messages and the other agents on it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from test_chat import Widget

from helpdesk.chat import events
from helpdesk.commands.worker import periodic_jobs
from helpdesk.extensions import db
from helpdesk.models import Ticket, User, utcnow
from helpdesk.tickets import service

PASSWORD = "correct horse battery"


def ticket_stream(client, ticket_id: int, after: int = 0) -> list[dict]:
    """What an agent's ticket page is sent straight away (the replay), then hang up."""
    response = client.get(
        f"/tickets/{ticket_id}/live", headers={"Last-Event-ID": str(after)}, buffered=False
    )
    assert response.mimetype == "text/event-stream"
    chunks = iter(response.response)
    next(chunks)  # the retry interval
    replay = next(chunks).decode()
    response.close()
    return [json.loads(line[6:]) for line in replay.splitlines() if line.startswith("data: ")]


def logged_in(app, email: str):
    agent = app.test_client()
    assert agent.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return agent


@pytest.fixture
def ada(app, setup, make_user):
    with setup():
        make_user(name="Ada Agent", email="ada@helpdesk.test", available=True)
    return logged_in(app, "ada@helpdesk.test")


def test_a_note_reaches_the_agents_pages_and_never_the_visitors_widget(
    app, client, setup, make_site, ada
):
    with setup():
        site = make_site(mailbox="help@shop.example").address
    widget = Widget(client, site)
    widget.start(name="Eve")
    widget.send("Is the pro plan monthly?")
    with setup():
        ticket = db.session.query(Ticket).one()
        ticket_id = ticket.id
        agent = db.session.query(User).filter_by(email="ada@helpdesk.test").one()
        service.add_note(ticket, agent, "Eve asked this last week too.")
        service.reply(ticket, agent, "Yes, and yearly.")

    page = [e for e in ticket_stream(ada, ticket_id) if e["type"] == "message"]
    assert [(e["direction"], e["name"], e["text"]) for e in page] == [
        ("inbound", "Eve", "Is the pro plan monthly?"),
        ("note", "Ada Agent", "Eve asked this last week too."),
        ("outbound", "Ada", "Yes, and yearly."),
    ]
    visitor = [e["text"] for e in widget.stream() if e["type"] == "message"]
    assert visitor == ["Is the pro plan monthly?", "Yes, and yearly."]


def test_mail_and_texts_reach_the_ticket_page_as_they_are_stored(setup, inbound, open_ticket, ada):
    first = "<first@customer.test>"
    ticket_id = open_ticket(sender="carl@customer.test", external_id=first, text="It rattles.")
    texting = open_ticket("sms", text="Order 12 arrived broken")
    # An intake batch flushes once at its end; each message is announced with its id all the same.
    follow_ups = [
        inbound(sender="carl@customer.test", thread_hints=(first,), text="It smells burnt."),
        inbound("sms", text="Photo attached"),
    ]
    with setup(), service.intake_batch(follow_ups):
        for msg in follow_ups:
            service.receive(msg)

    mail = [e for e in ticket_stream(ada, ticket_id) if e["type"] == "message"]
    assert [(e["channel"], e["name"], e["text"]) for e in mail] == [
        ("email", "carl@customer.test", "It rattles."),
        ("email", "carl@customer.test", "It smells burnt."),
    ]
    with setup():
        stored = [m.id for m in db.session.get(Ticket, ticket_id).messages]
    assert [e["message_id"] for e in mail] == stored
    texts = [e["text"] for e in ticket_stream(ada, texting) if e["type"] == "message"]
    assert texts == ["Order 12 arrived broken", "Photo attached"]


def test_presence_expires_after_a_minute_without_a_beat(ctx, make_user, open_ticket):
    ticket = db.session.get(Ticket, open_ticket())
    ada, bea, cy = (make_user(name=name) for name in ("Ada Agent", "Bea Baker", "Cy"))
    events.publish_presence(ticket=ticket, user=ada, state=events.PresenceState.VIEWING)
    events.publish_presence(ticket=ticket, user=bea, state=events.PresenceState.VIEWING)
    events.publish_presence(ticket=ticket, user=cy, state=events.PresenceState.WRITING)
    events.publish_presence(ticket=ticket, user=bea, state=events.PresenceState.LEFT)
    db.session.commit()

    now = utcnow()
    assert [(v.name, v.initials) for v in events.ticket_viewers(ticket.id, now)] == [
        ("Ada Agent", "AA"),
        ("Cy", "C"),
    ]
    later = now + timedelta(seconds=61)
    assert events.ticket_viewers(ticket.id, later) == []
    # A page that reconnects a minute later is not shown the agents who have gone since.
    with db.engine.connect() as connection:
        replay = events.since(connection, events.Stream(ticket_id=ticket.id), 0)
    replay = [e for e in replay if e.kind == events.EventKind.PRESENCE]
    assert [e.data["name"] for e in replay if not events.stale(e, now)] == [
        "Ada Agent",
        "Bea Baker",
        "Cy",
        "Bea Baker",
    ]
    assert [e for e in replay if not events.stale(e, later)] == []


def test_a_page_opened_later_shows_who_is_on_the_ticket_and_who_writes(
    app, setup, make_user, open_ticket, ada
):
    ticket_id = open_ticket(sender="carl@customer.test")
    with setup():
        make_user(name="Bea Baker", email="bea@helpdesk.test")
    bea = logged_in(app, "bea@helpdesk.test")
    assert ada.post(f"/tickets/{ticket_id}/presence", data={"state": "viewing"}).status_code == 204

    page = bea.get(f"/tickets/{ticket_id}").text
    assert 'class="avatar" aria-hidden="true">AA</span> Ada Agent' in page
    assert "<li data-user-id=" not in ada.get(f"/tickets/{ticket_id}").text  # not herself

    # Writing a reply on a mail ticket is shown to the other agents, live.
    with setup():
        after = events.latest_id()
    assert ada.post(f"/tickets/{ticket_id}/typing").status_code == 204
    beats = [e for e in ticket_stream(bea, ticket_id, after) if e["type"] == "presence"]
    assert [(e["name"], e["state"]) for e in beats] == [("Ada Agent", "writing")]

    assert ada.post(f"/tickets/{ticket_id}/presence", data={"state": "left"}).status_code == 204
    assert "Ada Agent</li>" not in bea.get(f"/tickets/{ticket_id}").text
    assert ada.post(f"/tickets/{ticket_id}/presence", data={"state": "gone"}).status_code == 400


def test_the_worker_prunes_typing_and_presence_nobody_is_shown_again(ctx, make_user, open_ticket):
    ticket = db.session.get(Ticket, open_ticket(text="It rattles."))
    events.publish_presence(ticket=ticket, user=make_user(), state=events.PresenceState.VIEWING)
    db.session.commit()

    def kinds() -> list[str]:
        stream = events.Stream(ticket_id=ticket.id)
        return [e.kind for e in events.since(db.session.connection(), stream, 0)]

    events.prune_passing_events(utcnow() + timedelta(minutes=59))
    assert kinds() == ["message", "presence"]
    events.prune_passing_events(utcnow() + timedelta(minutes=61))
    assert kinds() == ["message"]  # the message stays: a page resuming still gets it
    assert events.prune_passing_events in [job.run for job in periodic_jobs()]
