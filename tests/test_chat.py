"""Web chat: sites, the widget's endpoints, the live event log, offline replies, abuse limits."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, text

from channels.base import Channel, InboundMessage
from channels.webchat import host_user_hash
from helpdesk import create_app
from helpdesk.chat import events
from helpdesk.chat.hub import hub_of
from helpdesk.extensions import db, limiter
from helpdesk.models import (
    ChatConversation,
    ChatEvent,
    Customer,
    CustomerIdentity,
    DeliveryState,
    Direction,
    Endpoint,
    IdentityKind,
    Message,
    Stage,
    StageRule,
    StageSource,
    Ticket,
    User,
    utcnow,
)
from helpdesk.tickets import service

ORIGIN = "https://shop.example"
XSS = "<script>alert(1)</script>"


class Widget:
    """What the widget does over HTTP, from a page on ``origin``."""

    def __init__(self, client, site_key: str, origin: str = ORIGIN) -> None:
        self.client = client
        self.site = site_key
        self.origin = origin
        self.token: str | None = None

    def post(self, path: str, body: dict):
        # The widget sends JSON as text/plain (a simple request, no preflight).
        return self.client.post(
            f"/chat/api{path}",
            data=json.dumps(body),
            headers={"Origin": self.origin, "Content-Type": "text/plain;charset=UTF-8"},
        )

    def start(self, **fields):
        response = self.post(f"/sites/{self.site}/conversations", fields)
        if response.status_code == 201:
            self.token = response.json["token"]
        return response

    def send(self, text: str, client_id: str | None = None, **fields):
        body = {"token": self.token, "client_id": client_id or uuid.uuid4().hex, "text": text}
        return self.post("/messages", {**body, **fields})

    def stream(self, after: int = 0) -> list[dict]:
        """The events a stream sends straight away (the replay), then hang up."""
        response = self.client.get(
            f"/chat/api/stream?token={self.token}",
            headers={"Origin": self.origin, "Last-Event-ID": str(after)},
            buffered=False,
        )
        assert response.mimetype == "text/event-stream"
        chunks = iter(response.response)
        next(chunks)  # the retry interval
        replay = next(chunks).decode()
        response.close()
        return [json.loads(line[6:]) for line in replay.splitlines() if line.startswith("data: ")]


@pytest.fixture
def site(setup, make_site):
    with setup():
        site = make_site(mailbox="help@shop.example", url_rules=[("/pricing*", Stage.ATTRACTION)])
        return {"key": site.address, "secret": site.settings["secret"]}


@pytest.fixture
def widget(client, site) -> Widget:
    return Widget(client, site["key"])


@pytest.fixture
def agent(setup, make_user) -> int:
    """An agent who is online (available and seen just now)."""
    with setup():
        return make_user(name="Ada Lovelace", available=True).id


def chat_ticket(app: Flask) -> Ticket:
    db.session.expire_all()
    return db.session.scalars(select(Ticket).where(Ticket.channel == Channel.CHAT)).one()


def test_add_site_prints_the_snippet_and_secret_and_adds_url_rules_to_the_engine(runner, ctx):
    result = runner.invoke(
        args=[
            "chat", "add-site", "--name", "Shop", "--origin", "https://shop.example/",
            "--stage", "discovery", "--mailbox", "Help@Shop.example",
            "--url-rule", "/pricing*=attraction",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    site = db.session.scalars(select(Endpoint).where(Endpoint.channel == Channel.CHAT)).one()
    assert f'data-site="{site.address}"' in result.output
    assert 'src="http://helpdesk.test/chat/widget.js"' in result.output
    assert site.settings["secret"] in result.output
    assert site.settings["origins"] == ["https://shop.example"]
    assert site.settings["mailbox"] == "help@shop.example"
    rule = db.session.scalars(select(StageRule)).one()
    assert (rule.endpoint, rule.url_pattern) == (site.address, "/pricing*")
    assert rule.stage == Stage.ATTRACTION

    bad = runner.invoke(args=["chat", "add-site", "--name", "X", "--origin", "shop.example"])
    assert bad.exit_code != 0 and "not a web origin" in bad.output


def test_the_widget_script_is_served_as_javascript(client):
    response = client.get("/chat/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert b"attachShadow" in response.data


def test_only_registered_origins_may_use_a_site(client, site, widget):
    ok = client.get(f"/chat/api/sites/{site['key']}", headers={"Origin": ORIGIN})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert [choice["stage"] for choice in ok.json["choices"]] == ["discovery", "purchase", "use"]
    for headers in ({"Origin": "https://evil.example"}, {}):
        refused = client.get(f"/chat/api/sites/{site['key']}", headers=headers)
        assert refused.status_code == 403
        assert "Access-Control-Allow-Origin" not in refused.headers
    elsewhere = Widget(client, site["key"], "https://evil.example")
    assert elsewhere.start(name="Mallory").status_code == 403


def test_a_chat_is_a_ticket_from_the_first_message_and_resending_changes_nothing(
    ctx, widget, agent
):
    assert widget.start(name="Eve", email="eve@customer.test", stage="purchase").status_code == 201
    first = widget.send(
        "Is the pro plan monthly?", client_id="m1", page_url="https://shop.example/pricing?x=1",
        utm={"source": "newsletter"},
    )  # fmt: skip
    assert first.status_code == 201, first.json
    assert widget.send("Is the pro plan monthly?", client_id="m1").status_code == 200
    assert widget.send("And yearly?", client_id="m2").status_code == 201

    ticket = chat_ticket(ctx)
    assert ticket.subject == "Is the pro plan monthly?"
    # The visitor's own choice wins over the /pricing rule.
    assert (ticket.stage, ticket.stage_source) == (Stage.PURCHASE, StageSource.CUSTOMER)
    assert [m.text for m in ticket.messages] == ["Is the pro plan monthly?", "And yearly?"]
    assert ticket.customer.name == "Eve"
    assert ticket.customer.identity(IdentityKind.EMAIL) == "eve@customer.test"


def test_url_rules_decide_the_stage_when_the_visitor_chose_nothing(ctx, widget, agent):
    widget.start(name="Eve")
    widget.send("Hi", page_url="https://shop.example/pricing/pro")
    ticket = chat_ticket(ctx)
    assert (ticket.stage, ticket.stage_source) == (Stage.ATTRACTION, StageSource.RULE)
    assert "chat opened on /pricing/pro" in ticket.stage_reason


def test_bad_input_is_refused_with_a_clear_error(widget, agent, site):
    assert widget.start(stage="advocacy").json["error"]["message"] == (
        "please pick one of the offered topics"
    )
    assert widget.start(email="not-an-address").status_code == 400
    widget.start(name="Eve")
    too_long = widget.send("x" * 4001)
    assert too_long.status_code == 400 and "too long" in too_long.json["error"]["message"]
    assert widget.send("   ").status_code == 400
    assert widget.post("/messages", {"token": widget.token, "text": "y" * 20000}).status_code == 413
    widget.token = widget.token[:-2] + "xx"
    forged = widget.send("Hello")
    assert forged.status_code == 403 and forged.json["error"]["code"] == "forbidden"


@pytest.mark.parametrize("odd", ["nul\x00", "half \ud83d a pair"])
def test_text_no_database_stores_is_refused_in_the_widgets_own_requests(ctx, widget, agent, odd):
    """The widget posts JSON as text/plain, which the check for such text did not read: a 500
    (found by bench/fuzz.py)."""
    refused = widget.start(name=odd)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "invalid"
    assert refused.json["error"]["message"].startswith("name: text may not hold NUL")
    widget.start(name="Eve")
    assert widget.send(f"Hello {odd}").status_code == 400
    assert db.session.scalars(select(Message)).all() == []


def test_a_token_or_topic_of_the_wrong_type_is_refused_not_a_server_error(widget, agent):
    """Both answered 500 (found by bench/fuzz.py)."""
    topic = widget.start(stage=["use"])
    assert topic.status_code == 400
    assert topic.json["error"]["message"] == "please pick one of the offered topics"
    for token in (5, 1.5, ["x"], {"c": "x"}):
        answer = widget.post("/messages", {"token": token, "client_id": "c1", "text": "Hi"})
        assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden"


def test_a_site_key_with_a_nul_is_refused(widget):
    """PostgreSQL answered it with a 500 (found by bench/fuzz.py)."""
    answer = widget.post("/sites/key%00/conversations", {"name": "Eve"})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid"


def test_a_logged_in_host_user_lands_on_their_existing_profile(ctx, widget, site, agent):
    customer = Customer(name="Grace Hopper")
    db.session.add(customer)
    db.session.add(
        CustomerIdentity(
            customer=customer, kind=IdentityKind.HOST_USER, value="u-42", verified_at=utcnow()
        )
    )
    db.session.commit()

    wrong = widget.start(user_id="u-42", user_hash=host_user_hash("not the secret", "u-42"))
    assert wrong.status_code == 403
    signed = widget.start(user_id="u-42", user_hash=host_user_hash(site["secret"], "u-42"))
    assert signed.status_code == 201
    widget.send("Where is my order?")
    assert chat_ticket(ctx).customer_id == customer.id


def test_the_stream_replays_what_was_missed_and_keeps_notes_inside(ctx, widget, agent):
    widget.start(name=f"Eve {XSS}")
    widget.send(f"Hello {XSS}")
    ticket = chat_ticket(ctx)
    user = db.session.get(User, agent)
    service.reply(ticket, user, "Hi Eve")
    service.add_note(ticket, user, "VIP customer")
    db.session.commit()

    replay = widget.stream()
    assert [(e["type"], e["from"], e["text"]) for e in replay] == [
        ("message", "visitor", f"Hello {XSS}"),
        ("message", "agent", "Hi Eve"),
    ]
    assert replay[1]["name"] == "Ada"
    first_id = db.session.scalar(
        select(ChatEvent.id).where(ChatEvent.kind == "message").order_by(ChatEvent.id).limit(1)
    )
    assert [e["text"] for e in widget.stream(after=first_id)] == ["Hi Eve"]
    # A reply to a visitor who is here goes by chat and is delivered by that event.
    reply = db.session.scalars(select(Message).where(Message.direction == Direction.OUTBOUND)).one()
    assert (reply.channel, reply.delivery_state) == (Channel.CHAT, DeliveryState.DELIVERED)


def test_the_chat_page_sends_replies_without_a_reload(ctx, client, widget, login):
    login(name="Ada Lovelace", available=True)
    widget.start(name="Eve")
    widget.send("Hello")
    ticket = chat_ticket(ctx)
    as_the_page = {"Accept": "application/json"}
    url = f"/tickets/{ticket.id}/messages"

    before = ticket.version
    sent = client.post(url, data={"text": "Hi Eve", "reply": "1"}, headers=as_the_page)
    assert sent.status_code == 201
    # The sidebar takes the ticket's new version and properties from the answer: they are the
    # stored ones, so the agent's next save is not refused as stale.
    stored = chat_ticket(ctx)
    assert sent.json["version"] == stored.version == before + 1
    assert sent.json["properties"]["status"] == stored.status.value == "open"
    assert [e["text"] for e in widget.stream() if e["type"] == "message"] == ["Hello", "Hi Eve"]
    refused = client.post(url, data={"text": " ", "reply": "1"}, headers=as_the_page)
    assert refused.status_code == 400 and "text" in refused.json["errors"]
    # No notice waits in the session for a reload that never comes.
    with client.session_transaction() as session:
        assert "_flashes" not in session


def test_offline_the_widget_wants_an_email_and_replies_go_by_email_and_thread_back(
    ctx, client, widget, site, make_user
):
    away = make_user(name="Bo Away")
    settings = client.get(f"/chat/api/sites/{site['key']}", headers={"Origin": ORIGIN})
    assert settings.json["online"] is False
    assert widget.start(name="Eve").json["error"]["code"] == "email-required"
    assert widget.start(name="Eve", email="Eve@Customer.test").status_code == 201
    widget.send("Do you ship to Norway?")
    ticket = chat_ticket(ctx)

    # The visitor leaves; the reply goes out by email through the site's mailbox.
    conversation = db.session.get(ChatConversation, ticket.conversation_id)
    conversation.last_seen_at -= timedelta(minutes=5)
    reply = service.reply(ticket, away, "Yes, in 3 days.")
    db.session.commit()
    assert reply.channel == Channel.EMAIL
    assert reply.endpoint.address == "help@shop.example"
    assert reply.recipient == "Eve@Customer.test"
    assert reply.delivery_state == DeliveryState.QUEUED
    assert reply.subject == f"Re: Do you ship to Norway? [#{ticket.number}]"
    assert reply.external_id.startswith("<") and reply.external_id.endswith("@helpdesk.test>")
    # The widget still shows it, should the visitor come back.
    assert [e["text"] for e in widget.stream() if e["from"] == "agent"] == ["Yes, in 3 days."]

    answer = service.receive(
        InboundMessage(
            channel=Channel.EMAIL,
            endpoint="help@shop.example",
            external_id="<answer-1@customer.test>",
            sender="eve@customer.test",
            subject=f"Re: Do you ship to Norway? [#{ticket.number}]",
            text="Great, thanks!",
            thread_hints=(reply.external_id,),
        )
    )
    db.session.commit()
    assert answer.ticket_id == ticket.id
    assert answer.thread_reason == f"reply to message {reply.external_id}"
    assert answer.ticket.customer_id == ticket.customer_id


def test_rate_limits_per_visitor_and_per_ip(app, client, widget, agent):
    limits = {
        "HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR": "3 per hour",
        "HELPDESK_CHAT_LIMIT_CONVERSATIONS_PER_IP": "2 per hour",
    }
    saved = {key: app.config[key] for key in limits}
    app.config.update(limits)
    limiter.reset()
    try:
        assert widget.start(name="Eve").status_code == 201
        assert [widget.send(f"m{n}").status_code for n in range(4)] == [201, 201, 201, 429]
        assert widget.send("again").json["error"]["code"] == "rate-limited"
        other = Widget(client, widget.site)
        assert other.start(name="Zed").status_code == 201
        assert other.send("I am another visitor").status_code == 201
        assert Widget(client, widget.site).start(name="Third").status_code == 429
    finally:
        app.config.update(saved)
        limiter.reset()


def test_the_agent_ticket_page_escapes_what_visitors_type(ctx, client, widget, agent, make_user):
    widget.start(name=f"Eve {XSS}")
    widget.send(f"Hi {XSS}")
    client.post("/login", data={"email": make_user().email, "password": "correct horse battery"})
    page = client.get(f"/tickets/{chat_ticket(ctx).id}").text
    assert XSS not in page
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:6379/0"], ids=["database", "redis"])
def test_a_commit_in_one_process_wakes_streams_in_another(app, ctx, widget, agent, redis_url):
    """Two apps stand for two web processes; only the database (and Redis) joins them."""
    config = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "HELPDESK_STORAGE_DIR")}
    writer = create_app({**config, "TESTING": True, "REDIS_URL": redis_url})
    reader = create_app({**config, "TESTING": True, "REDIS_URL": redis_url})
    widget.start(name="Eve")
    widget.send("first")
    ticket_id = chat_ticket(ctx).id

    waiter = hub_of(reader).register([events.ticket_key(ticket_id)])
    rung = threading.Event()
    threading.Thread(target=lambda: waiter.wait(10) and rung.set(), daemon=True).start()
    # Let the reader's listener subscribe (Redis) or take its starting point (database).
    threading.Event().wait(0.5)
    try:
        with writer.app_context():
            ticket = db.session.get(Ticket, ticket_id)
            service.reply(ticket, db.session.get(User, agent), "from the other process")
            db.session.commit()
        assert rung.wait(5), "the other process's stream was never woken"
    finally:
        hub_of(reader).unregister(waiter)
        with writer.app_context():
            db.engine.dispose()
        with reader.app_context():
            db.engine.dispose()


def test_an_admin_registers_a_site_on_the_admin_page(ctx, client, make_user):
    admin = make_user(role="admin")
    client.post("/login", data={"email": admin.email, "password": "correct horse battery"})
    form = {
        "name": "Shop", "origins": "https://shop.example\nhttps://www.shop.example",
        "stage": "discovery", "mailbox": "help@shop.example", "url_rules": "/pricing*=attraction",
    }  # fmt: skip
    page = client.post("/admin/chat-sites", data=form)
    assert page.status_code == 200
    site = db.session.scalars(select(Endpoint).where(Endpoint.channel == Channel.CHAT)).one()
    assert site.settings["origins"] == ["https://shop.example", "https://www.shop.example"]
    assert f"data-site=&#34;{site.address}&#34;" in page.text  # the snippet, shown as text
    assert db.session.scalars(select(StageRule.url_pattern)).all() == ["/pricing*"]
    refused = client.post("/admin/chat-sites", data={**form, "url_rules": "/x=nowhere"})
    assert refused.status_code == 400 and "unknown stage" in refused.text
    assert 'value="Shop"' in refused.text  # nothing typed is lost


def test_a_site_without_url_rules_is_added_when_the_field_is_left_out(ctx, client, make_user):
    """A form posted by a script may leave optional fields out altogether."""
    admin = make_user(role="admin")
    client.post("/login", data={"email": admin.email, "password": "correct horse battery"})
    page = client.post("/admin/chat-sites", data={"name": "Blog", "origins": "https://blog.test"})
    assert page.status_code == 200
    site = db.session.scalars(select(Endpoint).where(Endpoint.channel == Channel.CHAT)).one()
    assert site.settings["origins"] == ["https://blog.test"]


def test_streams_are_woken_when_the_whole_transaction_commits_not_a_savepoint(
    app, ctx, widget, agent, monkeypatch
):
    widget.start(name="Eve")
    widget.send("first")
    ticket = chat_ticket(ctx)
    announced: list[set[str]] = []
    monkeypatch.setattr(hub_of(app), "announce", announced.append)
    with db.session.begin_nested():
        events.publish_typing(ticket=ticket, who="agent", name="Ada")
    assert announced == []  # other processes would look before the row is visible
    db.session.commit()
    # Agents' pages show only the visitor's typing, so only the visitor's stream is woken.
    assert announced == [{events.conversation_key(ticket.conversation_id)}]


@pytest.mark.postgresql
def test_events_are_numbered_in_commit_order_and_an_open_one_holds_up_no_other(
    app, ctx, widget, agent
):
    widget.start(name="Eve")
    widget.send("first")
    ticket = chat_ticket(ctx)
    events.publish_typing(ticket=ticket, who="agent", name="written first")
    # Another request commits its event meanwhile, without waiting for this transaction.
    with app.app_context():
        # Were the counter locked by the open transaction, fail instead of waiting for ever.
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        other = db.session.get(Ticket, ticket.id)
        events.publish_typing(ticket=other, who="agent", name="committed first")
        db.session.commit()
        db.session.remove()
    db.session.commit()
    typing = db.session.execute(
        select(ChatEvent.id, ChatEvent.data).where(ChatEvent.kind == "typing").order_by("id")
    ).all()
    assert [data["name"] for _, data in typing] == ["committed first", "written first"]
    assert all(event_id > 0 for event_id, _ in typing)
    replay = [e["name"] for e in widget.stream() if e["type"] == "typing"]
    assert replay == ["committed first", "written first"]


def test_typing_shows_on_the_other_side_only(ctx, widget, agent):
    widget.start(name="Eve")
    widget.send("Hello")
    assert widget.post("/typing", {"token": widget.token}).status_code == 202
    ticket = chat_ticket(ctx)
    events.publish_typing(ticket=ticket, who="agent", name="Ada")
    db.session.commit()

    assert [e["who"] for e in widget.stream() if e["type"] == "typing"] == ["agent"]
    with db.engine.connect() as connection:
        agents_view = events.since(connection, events.Stream(ticket_id=ticket.id), 0)
    assert [e.data["who"] for e in agents_view if e.kind == "typing"] == ["visitor"]
