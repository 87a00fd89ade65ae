"""Chat messages written in a few statements (helpdesk/tickets/chat_messages.py): whatever path a
message takes, it leaves exactly what the ticket service leaves, and what the quick path cannot
write goes through the service."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from channels.webchat import parse_message
from helpdesk.chat import visitors
from helpdesk.extensions import db, limiter
from helpdesk.models import (
    ChatConversation,
    ChatEvent,
    Message,
    StageDelta,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from helpdesk.tickets import chat_messages, search, service
from helpdesk.web.agent import routes as agent_routes
from helpdesk.web.chat import routes as chat_routes

ORIGIN = "https://shop.example"
AS_THE_CHAT_PAGE = {"Accept": "application/json"}
# What differs between two conversations' rows by nature, not by the path they took.
_OWN = {"id", "ticket_id", "external_id", "sender", "recipient", "thread_reason", "created_at"}


class Visitor:
    def __init__(self, client, site_key: str, name: str | None = "Eve", **fields) -> None:
        self.client = client
        started = self.post(f"/sites/{site_key}/conversations", {"name": name, **fields})
        assert started.status_code == 201, started.json
        self.token = started.json["token"]

    def post(self, path: str, body: dict):
        return self.client.post(
            f"/chat/api{path}",
            data=json.dumps(body),
            headers={"Origin": ORIGIN, "Content-Type": "text/plain;charset=UTF-8"},
        )

    def send(self, text: str, client_id: str | None = None):
        body = {"token": self.token, "client_id": client_id or uuid.uuid4().hex, "text": text}
        return self.post("/messages", body)

    @property
    def conversation(self) -> ChatConversation:
        return visitors.conversation_for(self.token, current_app.config["SECRET_KEY"])

    @property
    def ticket(self) -> Ticket:
        db.session.expire_all()
        return db.session.scalars(
            select(Ticket).where(Ticket.conversation_id == self.conversation.id)
        ).one()


@pytest.fixture(autouse=True)
def _limits_left_for_others() -> Iterator[None]:
    # These tests open many conversations from one address: the next test starts afresh.
    yield
    limiter.reset()


@pytest.fixture
def site(setup, make_site) -> str:
    with setup():
        return make_site(origins=(ORIGIN,)).address


@pytest.fixture
def agent(setup, make_user) -> int:
    with setup():
        return make_user(name="Ada Lovelace", available=True).id


@pytest.fixture
def subscribed(setup) -> None:
    with setup():
        db.session.add(
            WebhookEndpoint(
                url="https://hooks.example/in", events=["message.created"], secret="s" * 32
            )
        )


def _answered(visitor: Visitor, agent: int) -> Ticket:
    """A chat with its first message and first reply (the service's): an open ticket."""
    assert visitor.send("My grinder clicks").status_code == 201
    ticket = visitor.ticket
    service.reply(ticket, db.session.get(User, agent), "Since when?")
    db.session.commit()
    return visitor.ticket


def _quick_only(monkeypatch) -> None:
    """Fail the test if a message goes through the ticket service instead."""

    def refuse(*args, **kwargs):
        raise AssertionError("taken by the ticket service, not the quick path")

    monkeypatch.setattr(chat_routes, "_take_by_service", refuse)
    monkeypatch.setattr(agent_routes.service, "reply", refuse)


def _row(message: Message) -> dict:
    columns = Message.__table__.columns.keys()
    return {name: getattr(message, name) for name in columns if name not in _OWN}


def _newest(model, ticket: Ticket):
    return db.session.scalars(
        select(model).where(model.ticket_id == ticket.id).order_by(model.id.desc()).limit(1)
    ).one()


def _counts(ticket: Ticket) -> dict[str, int]:
    def count(model) -> int:
        return db.session.scalar(
            select(func.count()).select_from(model).where(model.ticket_id == ticket.id)
        )

    return {
        "messages": count(Message),
        "ticket events": count(TicketEvent),
        "chat events": count(ChatEvent),
        "webhook deliveries": count(WebhookDelivery),
    }


def _event_data(ticket: Ticket) -> dict:
    event = db.session.scalars(
        select(ChatEvent)
        .where(ChatEvent.ticket_id == ticket.id, ChatEvent.kind == "message")
        .order_by(ChatEvent.id.desc())
        .limit(1)
    ).one()
    data = dict(event.data)
    for own in ("message_id", "at", "client_id"):
        data.pop(own)
    return {**data, "to visitor": event.conversation_id is not None}


def _webhook(ticket: Ticket) -> dict:
    delivery = _newest(WebhookDelivery, ticket)
    message = dict(delivery.payload["data"]["message"])
    for own in _OWN:
        message.pop(own, None)
    return {"type": delivery.event_type, "message": message}


def _deltas() -> int:
    return db.session.scalar(select(func.count()).select_from(StageDelta))


def test_a_visitors_next_message_leaves_what_the_service_leaves(
    ctx, client, site, agent, subscribed, monkeypatch
):
    by_service, quick = Visitor(client, site), Visitor(client, site)
    tickets = {"service": _answered(by_service, agent), "quick": _answered(quick, agent)}
    before = {path: (t.version, _counts(t)) for path, t in tickets.items()}
    deltas = _deltas()

    msg = parse_message(
        visitors.visitor_of(by_service.conversation),
        {"client_id": "m2", "text": "Since the update, when grinding"},
    )
    service.receive(msg)
    db.session.commit()
    _quick_only(monkeypatch)
    assert quick.send("Since the update, when grinding", client_id="m2").status_code == 201

    after = {"service": by_service.ticket, "quick": quick.ticket}
    rows = {path: _newest(Message, ticket) for path, ticket in after.items()}
    assert _row(rows["quick"]) == _row(rows["service"])
    assert rows["quick"].thread_reason == f"chat conversation {quick.conversation.id}"
    for path, ticket in after.items():
        version, counts = before[path]
        assert ticket.version == version + 1
        assert ticket.status == TicketStatus.OPEN
        assert ticket.last_customer_message_at == rows[path].created_at == ticket.updated_at
        grown = {name: count - counts[name] for name, count in _counts(ticket).items()}
        assert grown == {
            "messages": 1,
            "ticket events": 0,
            "chat events": 1,
            "webhook deliveries": 1,
        }
    assert _event_data(after["quick"]) == _event_data(after["service"])
    assert _event_data(after["quick"])["name"] == "Eve"
    assert _webhook(after["quick"]) == _webhook(after["service"])
    # Neither changes what the stage dashboard counts.
    assert _deltas() == deltas
    found = search.tickets_matching("grinding", db.engine.dialect.name)
    assert set(db.session.scalars(select(Ticket.id).where(found))) == {
        ticket.id for ticket in after.values()
    }


def test_an_agents_next_chat_reply_leaves_what_the_service_leaves(
    ctx, client, site, login, subscribed, monkeypatch
):
    agent = login(name="Ada Lovelace", available=True)
    by_service, quick = Visitor(client, site), Visitor(client, site)
    tickets = {"service": _answered(by_service, agent), "quick": _answered(quick, agent)}
    before = {path: (t.version, _counts(t)) for path, t in tickets.items()}
    deltas = _deltas()

    service.reply(tickets["service"], db.session.get(User, agent), "Try   a cleaning\ncycle")
    db.session.commit()
    _quick_only(monkeypatch)
    sent = client.post(
        f"/tickets/{tickets['quick'].id}/messages",
        data={"text": " Try   a cleaning\ncycle ", "reply": "1"},
        headers=AS_THE_CHAT_PAGE,
    )
    assert sent.status_code == 201, sent.json

    after = {"service": by_service.ticket, "quick": quick.ticket}
    assert sent.json == {
        "ok": True,
        "version": after["quick"].version,
        "properties": {
            "team": "",
            "assignee": "",
            "status": "open",
            "priority": "normal",
            "stage": after["quick"].stage.value,
        },
    }
    rows = {path: _newest(Message, ticket) for path, ticket in after.items()}
    assert _row(rows["quick"]) == _row(rows["service"])
    assert rows["quick"].text == "Try   a cleaning\ncycle"
    assert rows["quick"].recipient == quick.conversation.visitor_id
    events = {path: _newest(TicketEvent, ticket) for path, ticket in after.items()}
    assert {(e.kind, e.actor_id, e.from_value, e.to_value) for e in events.values()} == {
        ("reply", agent, None, "Try a cleaning cycle")
    }
    for path, ticket in after.items():
        version, counts = before[path]
        assert ticket.version == version + 1
        assert ticket.updated_at == rows[path].created_at == events[path].created_at
        grown = {name: count - counts[name] for name, count in _counts(ticket).items()}
        assert grown == {
            "messages": 1,
            "ticket events": 1,
            "chat events": 1,
            "webhook deliveries": 1,
        }
    assert _event_data(after["quick"]) == _event_data(after["service"])
    assert _event_data(after["quick"])["name"] == "Ada"
    assert _webhook(after["quick"]) == _webhook(after["service"])
    assert _deltas() == deltas


def test_a_resent_message_is_stored_once_and_changes_nothing(ctx, client, site, agent):
    visitor = Visitor(client, site)
    _answered(visitor, agent)
    assert visitor.send("Still clicking", client_id="again").status_code == 201
    version = visitor.ticket.version
    assert visitor.send("Still clicking", client_id="again").status_code == 200
    assert visitor.ticket.version == version
    texts = [m.text for m in visitor.ticket.messages]
    assert texts.count("Still clicking") == 1


@pytest.mark.parametrize("status", [TicketStatus.PENDING, TicketStatus.SOLVED])
def test_a_message_that_reopens_its_ticket_goes_through_the_service(
    ctx, client, site, agent, status
):
    visitor = Visitor(client, site)
    ticket = _answered(visitor, agent)
    service.set_status(ticket, db.session.get(User, agent), status)
    db.session.commit()
    assert visitor.send("It clicks again").status_code == 201
    assert visitor.ticket.status == TicketStatus.OPEN
    kinds = [e.kind for e in visitor.ticket.events]
    assert kinds[-1] == ("reopened" if status == TicketStatus.SOLVED else "status")


def test_a_message_on_a_spam_chat_is_kept_quietly_by_the_service(ctx, client, site, agent):
    visitor = Visitor(client, site)
    ticket = _answered(visitor, agent)
    waited_since = ticket.last_customer_message_at
    ticket.spam_at = utcnow()
    db.session.commit()
    assert visitor.send("buy cheap watches").status_code == 201
    kept = visitor.ticket.messages[-1]
    assert kept.text == "buy cheap watches"
    assert "spam" in kept.thread_reason
    assert visitor.ticket.last_customer_message_at == waited_since


def test_a_ticket_changed_after_it_was_read_is_left_to_the_service(ctx, client, site, agent):
    visitor = Visitor(client, site)
    ticket = _answered(visitor, agent)
    chat = chat_messages.find_chat(visitor.conversation.id)
    db.session.rollback()
    # Another process solves the ticket between the read and the write.
    service.set_status(ticket, db.session.get(User, agent), TicketStatus.SOLVED)
    db.session.commit()
    count = len(ticket.messages)
    msg = parse_message(chat.visitor, {"client_id": "late", "text": "Hello?"})
    assert chat_messages.take_visitor_message(msg, chat) is None
    db.session.commit()
    assert len(visitor.ticket.messages) == count
    # Through the route it lands as the service decides: the ticket opens again.
    assert visitor.send("Hello?", client_id="late").status_code == 201
    assert visitor.ticket.status == TicketStatus.OPEN
    assert len(visitor.ticket.messages) == count + 1


def test_a_visitor_who_gave_no_name_is_shown_as_the_service_shows_them(
    ctx, client, site, agent, monkeypatch
):
    visitor = Visitor(client, site, name=None)
    _answered(visitor, agent)
    _quick_only(monkeypatch)
    assert visitor.send("hi again").status_code == 201
    assert _event_data(visitor.ticket)["name"] == visitor.ticket.customer.display_name


def test_a_reply_from_a_page_that_missed_newer_messages_is_held_back(ctx, client, site, login):
    agent = login(name="Ada Lovelace", available=True)
    visitor = Visitor(client, site)
    ticket = _answered(visitor, agent)
    seen = ticket.messages[-1].id
    visitor.send("Are you there?")
    url = f"/tickets/{ticket.id}/messages"
    form = {"text": "Yes", "reply": "1", "seen_message_id": str(seen)}
    held = client.post(url, data=form, headers=AS_THE_CHAT_PAGE)
    assert held.status_code == 409
    assert held.json["newer_messages"] == [visitor.ticket.messages[-1].id]
    sent = client.post(url, data={**form, "confirm": "1"}, headers=AS_THE_CHAT_PAGE)
    assert sent.status_code == 201
    assert visitor.ticket.messages[-1].text == "Yes"


def test_a_reply_to_a_visitor_who_left_goes_by_email_through_the_service(
    ctx, client, setup, make_site, login
):
    with setup():
        key = make_site(origins=(ORIGIN,), mailbox="help@shop.example").address
    agent = login(name="Ada Lovelace", available=True)
    visitor = Visitor(client, key, email="eve@customer.test")
    ticket = _answered(visitor, agent)
    visitor.conversation.last_seen_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    sent = client.post(
        f"/tickets/{ticket.id}/messages",
        data={"text": "We will ship it", "reply": "1"},
        headers=AS_THE_CHAT_PAGE,
    )
    assert sent.status_code == 201
    reply = visitor.ticket.messages[-1]
    assert (reply.channel.value, reply.recipient) == ("email", "eve@customer.test")


def test_the_first_reply_and_a_reply_that_solves_go_through_the_service(ctx, client, site, login):
    login(name="Ada Lovelace", available=True)
    visitor = Visitor(client, site)
    visitor.send("Hello")
    ticket = visitor.ticket
    url = f"/tickets/{ticket.id}/messages"
    first = client.post(url, data={"text": "Hi", "reply": "1"}, headers=AS_THE_CHAT_PAGE)
    assert first.status_code == 201
    assert first.json["properties"]["status"] == "open"
    assert visitor.ticket.first_response_at is not None
    done = client.post(url, data={"text": "Bye", "reply_solved": "1"}, headers=AS_THE_CHAT_PAGE)
    assert done.status_code == 201
    assert visitor.ticket.status == TicketStatus.SOLVED
