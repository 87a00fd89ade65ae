"""What a person clicks, in Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from live_browser import log_in
from mail_servers import free_port
from playwright.sync_api import expect
from sqlalchemy import select
from test_chat import Widget
from werkzeug.serving import make_server

from channels.base import Channel
from helpdesk import demo_channels
from helpdesk.chat import sites
from helpdesk.extensions import db
from helpdesk.models import Message, Role, Stage, Survey, Ticket, TicketStatus, User
from helpdesk.tickets import service, stage_rules, surveys

# What a page does is the same on either database: browser tests run in the SQLite pass only.
pytestmark = pytest.mark.once


def test_an_agent_works_a_ticket_from_the_queue(page, live_url, setup, make_user, open_ticket):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    open_ticket(subject="Where is my parcel?", sender="cy@customer.test")
    open_ticket("sms", text="ORDER 3 bags please")
    log_in(page, live_url, "ada@helpdesk.test")

    page.get_by_label("Channel").select_option("email")
    expect(page).to_have_url(
        f"{live_url}/tickets?status=new%2Copen%2Cpending&channel=email&sort=newest"
    )
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Where is my parcel?").click()
    expect(page.get_by_role("heading", name="Where is my parcel?")).to_be_visible()

    page.get_by_label("Message").fill("Checking the warehouse first.")
    page.get_by_role("button", name="Add internal note").click()
    expect(page.locator(".msg-note")).to_contain_text("Checking the warehouse first.")

    page.get_by_label("Message").fill("Your parcel left today.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".msg-outbound")).to_contain_text("Your parcel left today.")
    expect(page.locator(".msg-outbound .delivery")).to_have_text("Queued")

    page.get_by_label("Status").select_option("pending")
    page.get_by_label("Journey stage").select_option("purchase")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_have_text("Ticket updated.")
    expect(page.locator(".badges")).to_contain_text("Pending")
    expect(page.locator(".badges")).to_contain_text("Purchase")
    activity = page.locator(".activity")
    expect(activity).to_contain_text("changed status from open to pending")
    expect(activity).to_contain_text("changed stage from unknown to purchase")
    expect(activity).to_contain_text("added a note")
    expect(activity).to_contain_text("replied")


def test_an_agent_cannot_reach_the_admin_pages(page, live_url, setup, make_user):
    with setup():
        make_user(email="ada@helpdesk.test")
        make_user(role=Role.ADMIN, email="root@helpdesk.test")
    log_in(page, live_url, "ada@helpdesk.test")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto(f"{live_url}/admin/users")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not for your role")).to_be_visible()
    expect(page.get_by_text("root@helpdesk.test")).to_have_count(0)


def test_a_manager_reads_the_stage_dashboard_and_drills_down(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(role=Role.MANAGER, email="mo@helpdesk.test")
    for n in range(3):
        open_ticket("sms", text=f"ORDER {n} bags", sender=f"+1555000300{n}")
    open_ticket(subject="Where is my parcel?")
    log_in(page, live_url, "mo@helpdesk.test")
    page.get_by_role("link", name="Journey stages").click()
    expect(page.get_by_role("heading", name="Journey stages")).to_be_visible()
    expect(page.locator("svg.chart rect")).not_to_have_count(0)

    table = page.locator("table.report").first
    unknown = table.locator("tr", has=page.locator("th", has_text="Unknown"))
    arrivals = unknown.locator("td").first
    expect(arrivals.get_by_role("link")).to_have_text("4")
    expect(arrivals.locator(".change")).to_have_text("▲ up 4 from 0")
    arrivals.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    expect(page.locator("table.queue tbody tr")).to_have_count(4)

    page.goto(f"{live_url}/reports/stages?from=2020-01-01&to=2020-01-31")
    expect(page.get_by_text("No requests arrived in this range.")).to_be_visible()


def test_an_admin_adds_tries_reorders_and_disables_a_stage_rule(page, live_url, setup, make_user):
    with setup():
        make_user(role=Role.ADMIN, email="root@helpdesk.test")
        stage_rules.add_rule("any text", "use", {"channel": "sms"})
    log_in(page, live_url, "root@helpdesk.test")
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Stage rules").click()

    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("orders")
    page.get_by_label("Gives the stage").select_option("purchase")
    page.get_by_label("First word").fill("ORDER")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".flash")).to_contain_text("Rule “orders” added")
    rows = page.locator("table.rules tbody tr")
    expect(rows.nth(1)).to_contain_text("orders")

    try_box = page.locator("#try")
    try_box.get_by_label("Channel").select_option("sms")
    try_box.get_by_label("Arrives at").fill("+15550001000")
    try_box.get_by_label("Text").fill("order 12 is late")
    try_box.get_by_role("button", name="Try it").click()
    expect(page.locator(".trial-answer")).to_contain_text("Use")
    expect(page.locator(".trial-steps")).to_contain_text("any text — matched")

    page.get_by_role("button", name="Move orders up").click()
    expect(rows.first).to_contain_text("orders")
    page.goto(f"{live_url}/admin/stages?channel=sms&endpoint=%2B15550001000&text=order+12")
    expect(page.locator(".trial-answer")).to_contain_text("Purchase")
    expect(page.locator(".trial-answer")).to_contain_text("first word ORDER")

    page.get_by_role("button", name="Disable orders").click()
    expect(page.locator(".flash")).to_contain_text("is off")
    expect(rows.first).to_contain_text("Disabled")
    page.goto(f"{live_url}/admin/stages?channel=sms&endpoint=%2B15550001000&text=order+12")
    expect(page.locator(".trial-steps")).to_contain_text("orders — skipped: disabled")
    expect(page.locator(".trial-answer")).to_contain_text("Use")


def test_a_customer_answers_the_survey_from_the_link(page, app, live_url, setup, open_ticket):
    app.config["HELPDESK_CSAT"] = True
    try:
        ticket_id = open_ticket(subject="Grinder noise")
        with setup():
            ticket = db.session.get(Ticket, ticket_id)
            service.set_status(ticket, None, TicketStatus.SOLVED)
            link = surveys.survey_url(db.session.scalar(select(Survey)))
    finally:
        app.config["HELPDESK_CSAT"] = False
    page.goto(live_url + link.removeprefix("http://helpdesk.test"))
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    page.get_by_role("button", name="Send my answer").click()
    expect(page.locator("#score-error")).to_have_text("Pick a rating from 1 to 5.")
    page.get_by_label("4 · Good").check()
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Fixed in a day.")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("status")).to_have_text("Thank you! We have your rating of 4 out of 5.")
    with setup():
        survey = db.session.scalar(select(Survey))
        assert (survey.score, survey.comment) == (4, "Fixed in a day.")
        assert survey.ticket.status == TicketStatus.SOLVED


# --- web chat -----------------------------------------------------------------------------------

XSS = '<img src=x onerror="window.__xss=1">'
# Page styles that would break a widget living in the page's own DOM.
HOSTILE_CSS = "button, input, textarea, ol, li, label { display: none !important; }"


class CuttableProxy:
    """A TCP relay in front of the helpdesk whose connections a test can cut and restore,
    as a flaky network or a proxy that drops idle streams would."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.open.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.cut_off.set()
        with self.lock:
            for end in self.open:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def restore(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxy(live_url: str) -> Iterator[CuttableProxy]:
    relay = CuttableProxy(int(live_url.rsplit(":", 1)[1]))
    yield relay
    relay.close()


@pytest.fixture(scope="session")
def host_url() -> Iterator[str]:
    """A customer's website on another origin, embedding the widget as its snippet says."""

    def host_page(environ, start_response):
        query = dict(pair.split("=", 1) for pair in environ["QUERY_STRING"].split("&") if pair)
        page = (
            f"<!doctype html><html><head><title>Shop</title><style>{HOSTILE_CSS}</style></head>"
            f"<body><h1>Pricing</h1><p>Our plans.</p>"
            f'<script src="http://127.0.0.1:{query.get("via")}/chat/widget.js" '
            f'data-site="{query.get("site")}" async>'
            f"</script></body></html>"
        )
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page.encode()]

    server = make_server("127.0.0.1", 0, host_page, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def chat_site(setup, make_site, host_url: str) -> str:
    """A registered chat site for the host page's origin; returns its key."""
    with setup():
        return make_site([host_url], url_rules=[("/pricing*", Stage.ATTRACTION)]).address


def test_a_visitor_and_an_agent_chat_in_real_time(
    browser, live_url, host_url, proxy, chat_site, setup, make_user
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent", available=True)
    agent = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    log_in(agent, live_url, "ada@helpdesk.test")

    # The visitor opens the chat on the customer's site and writes first.
    # The visitor reaches the helpdesk through a relay this test can cut.
    visitor.goto(f"{host_url}/pricing?site={chat_site}&via={proxy.port}&utm_source=newsletter")
    visitor.get_by_role("button", name="Open chat").click()
    expect(visitor.get_by_text("We're online")).to_be_visible()
    visitor.get_by_label("Name").fill(f"Eve {XSS}")
    visitor.get_by_label("Email").fill("eve@customer.test")
    visitor.get_by_label("Choosing or buying").check()
    visitor.get_by_label("Message").fill(f"Is the pro plan monthly? {XSS}")
    visitor.get_by_role("button", name="Send").click()
    log = visitor.get_by_role("log")
    expect(log).to_contain_text(f"Is the pro plan monthly? {XSS}")

    # The agent's open queue shows the new chat without a reload.
    expect(agent.get_by_role("link", name="Is the pro plan monthly?")).to_be_visible()
    agent.get_by_role("link", name="Is the pro plan monthly?").click()
    thread = agent.get_by_role("region", name="Conversation")
    expect(thread).to_contain_text(f"Is the pro plan monthly? {XSS}")
    expect(agent.locator(".badges")).to_contain_text("Purchase")

    # Typing and messages travel both ways while both pages stay open.
    visitor.get_by_label("Message").press_sequentially("And yearly")
    expect(agent.get_by_text(f"Eve {XSS} is typing…")).to_be_visible()
    visitor.get_by_label("Message").press("Enter")
    expect(thread).to_contain_text("And yearly")
    agent.get_by_label("Message").press_sequentially("Both, ")
    expect(visitor.get_by_text("Ada is typing…")).to_be_visible()
    agent.get_by_label("Message").fill("Both: yearly saves 20%.")
    agent.get_by_role("button", name="Send reply").click()
    expect(log).to_contain_text("Both: yearly saves 20%.")

    # A reload keeps the conversation, shown once.
    visitor.reload()
    visitor.get_by_role("button", name="Open chat").click()
    expect(log.get_by_text("Both: yearly saves 20%.")).to_have_count(1)
    expect(visitor.get_by_label("Name")).to_be_hidden()

    # The connection drops mid-conversation; nothing is lost either way, nothing doubled.
    proxy.cut()
    visitor.get_by_label("Message").fill("Sent while offline")
    visitor.get_by_role("button", name="Send").click()
    agent.get_by_label("Message").fill("Answered while you were offline")
    agent.get_by_role("button", name="Send reply").click()
    expect(agent.locator(".msg-outbound")).to_have_count(2)
    proxy.restore()
    expect(log.get_by_text("Answered while you were offline")).to_have_count(1)
    expect(thread.get_by_text("Sent while offline")).to_have_count(1)
    expect(log.get_by_text("Sent while offline")).to_have_count(1)

    assert visitor.evaluate("window.__xss") is None
    assert agent.evaluate("window.__xss") is None
    agent.context.close()
    visitor_context.close()


def test_an_agent_mails_a_verification_link_and_its_owner_confirms_it(
    page, live_url, setup, client, make_user, make_site, open_ticket
):
    victim = "vera@customer.test"
    open_ticket(sender=victim, subject="Refund for order 1234")
    with setup():
        make_user(name="Ada Agent", email="ada@helpdesk.test")
        site = make_site(mailbox="help@shop.example").address
    # Someone else chats, typing the customer's address: it stays a claim, shown as one.
    widget = Widget(client, site)
    widget.start(name="Mallory", email=victim)
    widget.send("What did I order last time?")
    with setup():
        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.channel == Channel.CHAT))
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")
    customer = page.locator("section.card", has=page.get_by_role("heading", name="Customer"))
    expect(customer.get_by_text("unverified")).to_be_visible()
    expect(customer.get_by_text("This is their only ticket.")).to_be_visible()
    customer.get_by_role("button", name="Send verification link").click()
    expect(page.get_by_text(f"Verification link queued for {victim}.")).to_be_visible()
    expect(page.get_by_text(f"sent a verification link to {victim}")).to_be_visible()

    with setup():
        mail = db.session.scalar(select(Message.text).where(Message.recipient == victim))
    link = next(word for word in mail.split() if "/verify/" in word)
    owner = page.context.new_page()
    owner.goto(link.replace("http://helpdesk.test", live_url))
    expect(owner.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    owner.close()
    # Proven, the chat joins the owner: their history shows, the mark is gone.
    page.reload()
    expect(customer.get_by_text("unverified")).to_have_count(0)
    expect(customer.get_by_role("link", name=re.compile("Refund for order 1234"))).to_be_visible()


# --- nothing a colleague did is overwritten (ticket versions) ----------------------------------


def test_saving_after_a_reply_error_changes_nothing(page, live_url, setup, make_user, open_ticket):
    with setup():
        ada_id = make_user(email="ada@helpdesk.test", name="Ada Agent").id
    ticket_id = open_ticket(subject="Grinder noise")
    with setup():
        ticket, ada = db.session.get(Ticket, ticket_id), db.session.get(User, ada_id)
        service.assign(ticket, ada, ada)
        service.set_status(ticket, ada, TicketStatus.PENDING)
        service.set_priority(ticket, ada, "high")
        service.set_stage(ticket, ada, Stage.USE)
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")

    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#text-error")).to_have_text("Write something first.")
    expect(page.get_by_label("Assignee")).to_have_value(str(ada_id))
    expect(page.get_by_label("Status")).to_have_value("pending")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_have_text("Nothing to change.")

    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.assignee_id, ticket.status, ticket.priority, ticket.stage) == (
            ada_id,
            TicketStatus.PENDING,
            "high",
            Stage.USE,
        )
        assert ticket.events[-1].kind == "stage", "no change was recorded"


def test_a_chat_reply_then_a_priority_change_keeps_the_ticket_open(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    ticket_id = open_ticket("chat", sender="visitor-5", conversation_id="conv-5", text="Hi there")
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")
    expect(page.get_by_label("Status")).to_have_value("new")

    page.get_by_label("Message").fill("Hello! How can I help?")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".msg-outbound")).to_contain_text("Hello! How can I help?")
    # Sent without a reload; the sidebar follows what the reply did.
    expect(page.get_by_label("Status")).to_have_value("open")
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_have_text("Ticket updated.")

    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.status, ticket.priority) == (TicketStatus.OPEN, "high")


def test_a_colleagues_change_meanwhile_is_kept_or_shown(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
        bo_id = make_user(name="Bo Colleague").id
    ticket_id = open_ticket("chat", sender="visitor-6", conversation_id="conv-6", text="Hi")
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")

    def colleague(change) -> None:
        with setup():
            change(db.session.get(Ticket, ticket_id), db.session.get(User, bo_id))

    # Another field: both changes stay.
    colleague(lambda t, bo: service.set_status(t, bo, TicketStatus.PENDING))
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_have_text("Ticket updated.")
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.status, ticket.priority) == (TicketStatus.PENDING, "urgent")

    # The same field: refused, with theirs and mine side by side.
    colleague(lambda t, bo: service.set_status(t, bo, TicketStatus.SOLVED))
    page.get_by_label("Status").select_option("open")
    page.get_by_role("button", name="Save changes").click()
    conflict = page.locator(".conflict")
    expect(conflict).to_contain_text("Not saved.")
    status = conflict.locator("tr", has=page.locator("th", has_text="Status"))
    expect(status.locator("td").first).to_contain_text("Solved")
    expect(status.locator("td").first).to_contain_text("Bo Colleague")
    expect(status.locator("td").last).to_have_text("Open")
    expect(page.get_by_label("Status")).to_have_value("solved")
    with setup():
        assert db.session.get(Ticket, ticket_id).status == TicketStatus.SOLVED

    page.get_by_role("button", name="Apply mine anyway").click()
    expect(page.locator(".flash")).to_have_text("Ticket updated.")
    expect(page.get_by_label("Status")).to_have_value("open")
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.status, ticket.priority) == (TicketStatus.OPEN, "urgent")


def test_a_chat_reply_waits_when_the_customer_wrote_meanwhile(
    page, live_url, setup, make_user, open_ticket, inbound
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    ticket_id = open_ticket("chat", sender="visitor-7", conversation_id="conv-7", text="Hello")
    log_in(page, live_url, "ada@helpdesk.test")
    # The page's live stream is down, so it has not shown what the customer wrote since.
    page.route(f"**/tickets/{ticket_id}/live*", lambda route: route.abort())
    page.goto(f"{live_url}/tickets/{ticket_id}")
    with setup():
        service.receive(
            inbound("chat", sender="visitor-7", conversation_id="conv-7", text="Found it, bye!")
        )

    page.get_by_label("Message").fill("Let me check your order.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#composer .notice")).to_contain_text("Not sent yet")
    # Said on the page as it is, without a reload; the text stays.
    expect(page.get_by_role("button", name="Send reply anyway")).to_have_count(0)
    expect(page.get_by_label("Message")).to_have_value("Let me check your order.")
    with setup():
        assert [m.text for m in db.session.get(Ticket, ticket_id).messages] == [
            "Hello",
            "Found it, bye!",
        ]

    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_label("Message")).to_have_value("")
    expect(page.locator("#composer .notice")).to_have_count(0)
    with setup():
        assert db.session.get(Ticket, ticket_id).messages[-1].text == "Let me check your order."


def test_two_agents_on_one_ticket_see_each_other_and_a_mail_that_arrives_meanwhile(
    browser, live_url, setup, make_user, open_ticket, inbound
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
        make_user(email="bea@helpdesk.test", name="Bea Baker")
    first = "<first@customer.test>"
    ticket_id = open_ticket(sender="carl@customer.test", external_id=first, text="It rattles.")
    ada = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    bea = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    log_in(ada, live_url, "ada@helpdesk.test")
    ada.goto(f"{live_url}/tickets/{ticket_id}")
    ada_box = ada.get_by_label("Message")
    ada_box.fill("Please send a photo of the grinder.")

    # Bea opens the ticket Ada has open: each sees the other, Bea from the page as rendered.
    log_in(bea, live_url, "bea@helpdesk.test")
    bea.goto(f"{live_url}/tickets/{ticket_id}")
    ada_viewers = ada.locator("[data-viewers]")
    expect(ada_viewers).to_contain_text("Bea Baker")
    expect(ada_viewers.locator(".avatar")).to_have_text("BB")
    expect(bea.locator("[data-viewers]")).to_contain_text("Ada Agent")
    expect(bea.locator("[data-viewers]")).not_to_contain_text("Bea Baker")

    bea.get_by_label("Message").press_sequentially("Looking")
    expect(ada.get_by_text("Bea Baker is writing a reply…")).to_be_visible()

    # The customer writes again while Ada writes: the mail shows on her page at once.
    with setup():
        service.receive(
            inbound(sender="carl@customer.test", thread_hints=(first,), text="It smells burnt.")
        )
    thread = ada.get_by_role("region", name="Conversation")
    expect(thread.locator(".msg-inbound")).to_have_count(2)
    expect(thread.locator(".msg-inbound").last).to_contain_text("It smells burnt.")
    expect(ada.locator("[data-live-notice]")).to_contain_text(
        "New message from carl@customer.test while you were writing"
    )

    # Her reply, composed before it arrived, is held by the server until she confirms.
    ada.get_by_role("button", name="Send reply").click()
    expect(ada.locator("#composer .notice")).to_contain_text("Not sent yet")
    expect(ada_box).to_have_value("Please send a photo of the grinder.")
    with setup():
        assert len(db.session.get(Ticket, ticket_id).messages) == 2
    ada.get_by_role("button", name="Send reply anyway").click()
    expect(ada.locator(".flash")).to_have_text("Reply queued for sending.")
    with setup():
        last = db.session.get(Ticket, ticket_id).messages[-1]
        assert (last.text, last.author.name) == ("Please send a photo of the grinder.", "Ada Agent")

    # Bea leaves: Ada's page no longer lists her.
    bea.context.close()
    expect(ada_viewers).not_to_contain_text("Bea Baker")
    ada.context.close()


def test_an_sms_reply_counts_its_characters_and_text_messages_as_it_is_written(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    ticket_id = open_ticket("sms", text="Is the grinder back in stock?")
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")
    counter = page.locator("[data-sms-counter]")
    expect(counter).to_have_text("0 / 1,600 characters · 0 text messages")

    box = page.get_by_label("Message")
    box.fill("Yes, since Monday.")
    expect(counter).to_have_text("18 / 1,600 characters · 1 text message")
    box.fill("a" * 161)  # past one message: parts of 153
    expect(counter).to_have_text("161 / 1,600 characters · 2 text messages")
    box.fill("Grüße 😀")  # a character outside GSM-7: 70 to a message
    expect(counter).to_have_text("7 / 1,600 characters · 1 text message")
    box.fill("x" * 1601)
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    page.get_by_role("button", name="Send and set pending").click()
    expect(page.locator("#text-error")).to_contain_text("can hold at most 1,600 characters")
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert (len(ticket.messages), ticket.status) == (1, TicketStatus.NEW)


def test_keyboard_shortcuts_are_listed_on_question_mark_and_work(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    ticket_id = open_ticket(subject="Grinder noise")
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")

    page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("aAssign to me")
    expect(shortcuts).to_contain_text("rWrite a reply or note")
    expect(shortcuts).to_contain_text("Ctrl+EnterSend the reply")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()

    page.keyboard.press("r")
    box = page.get_by_label("Message")
    expect(box).to_be_focused()
    page.keyboard.type("a note about the grinder")  # typed, not taken as shortcuts
    expect(box).to_have_value("a note about the grinder")
    box.blur()
    page.keyboard.press("a")
    expect(page.locator(".flash")).to_have_text("Ticket updated.")
    with setup():
        assert db.session.get(Ticket, ticket_id).assignee.email == "ada@helpdesk.test"


def test_an_agent_applies_a_macro_from_the_keyboard(page, live_url, setup, make_user, open_ticket):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
        for name, text, status in (
            ("Ask for order number", "Hi {{ customer.first_name }}, which order is it?", None),
            ("Shipping delay — apology", "Sorry {{ customer.first_name }}, it is late.", "pending"),
        ):
            service.create_macro(
                None, service.MacroFields(name=name, text=text, status=status, tags=("delay",))
            )
    ticket_id = open_ticket(subject="Late parcel", sender_name="Cy Young")
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")
    page.get_by_label("Message").fill("Thanks for waiting.")
    page.get_by_label("Message").blur()

    page.keyboard.press(".")
    picker = page.get_by_role("dialog", name="Apply a macro")
    expect(picker).to_be_visible()
    search = picker.get_by_role("combobox", name="Search macros")
    expect(search).to_be_focused()
    page.keyboard.type("shipping")
    expect(picker.get_by_role("option")).to_have_count(1)
    expect(picker.get_by_role("option", selected=True)).to_contain_text("Shipping delay")
    page.keyboard.press("Enter")

    expect(page.locator(".flash")).to_contain_text("Macro “Shipping delay — apology” applied")
    expect(page.get_by_label("Message")).to_have_value(
        "Thanks for waiting.\n\nSorry Cy, it is late."
    )
    expect(page.get_by_label("Status")).to_have_value("pending")
    expect(page.locator(".tags")).to_contain_text("delay")
    expect(page.locator(".activity")).to_contain_text("applied the macro Shipping delay — apology")
    with setup():
        assert db.session.get(Ticket, ticket_id).messages[-1].direction.value == "inbound"


# --- the demo's shop page and mail sink --------------------------------------------------------


def test_a_visitor_chats_on_the_demo_shop_and_the_emailed_link_reaches_the_mail_sink(
    browser, page, live_url, setup, runner, make_user, demo_sinks
):
    sink_port, _, sent = demo_sinks
    shop_port = free_port()
    shop_url = f"http://127.0.0.1:{shop_port}"
    with setup():
        demo_channels.set_up([shop_url], sink_port)
        stage_rules.add_rule(
            "chat-pricing", Stage.ATTRACTION, {"channel": "chat", "url_pattern": "/pricing*"}
        )
        make_user(email="ada@helpdesk.test", name="Ada Agent")
        snippet = sites.embed_snippet(demo_channels.demo_site(), live_url)
    shop = make_server("127.0.0.1", shop_port, demo_channels.shop_app(snippet), threaded=True)
    threading.Thread(target=shop.serve_forever, daemon=True).start()
    try:
        visitor = browser.new_context().new_page()
        visitor.goto(f"{shop_url}/pricing")
        visitor.get_by_role("button", name="Open chat").click()
        visitor.get_by_label("Name").fill("Cleo Park")
        visitor.get_by_label("Email").fill("cleo@customer.test")
        visitor.get_by_label("Message").fill("Is the Bean Club billed monthly?")
        visitor.get_by_role("button", name="Send").click()
        expect(visitor.get_by_role("log")).to_contain_text("Is the Bean Club billed monthly?")
        visitor.context.close()
    finally:
        shop.shutdown()

    log_in(page, live_url, "ada@helpdesk.test")
    page.get_by_role("link", name="Is the Bean Club billed monthly?").click()
    expect(page.locator(".badges")).to_contain_text("Attraction")  # opened on /pricing
    customer = page.locator("section.card", has=page.get_by_role("heading", name="Customer"))
    customer.get_by_role("button", name="Send verification link").click()
    expect(page.get_by_text("Verification link queued for cleo@customer.test.")).to_be_visible()

    worked = runner.invoke(args=["worker", "--once"])
    assert worked.exit_code == 0, worked.output
    outbox = runner.invoke(args=["demo", "outbox", "--directory", str(sent)])
    assert "To: cleo@customer.test" in outbox.output
    assert "Subject: Confirm your email address" in outbox.output


def test_an_agent_tags_reads_the_mail_as_sent_and_replies_with_a_file_and_cc(
    page, live_url, setup, make_user, tmp_path
):
    from mail_samples import mail
    from test_email_view import html_mail

    from channels.email.parse import parse_email
    from helpdesk.mail.intake import hand_in
    from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox

    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
        mailbox = add_mailbox(MailboxSettings("help@shop.test", "127.0.0.1", "help", "pw"))
        hand_in(mailbox, html_mail())
        ticket_id = db.session.scalar(select(Ticket.id))
        # The customer writes again on the same thread, copying two colleagues.
        again = mail(
            to="help@shop.test, bo@customer.test",
            headers={"Cc": "carl@customer.test", "In-Reply-To": "<photo-1@customer.test>"},
        )
        service.receive(parse_email(again, endpoint="help@shop.test").message)
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")

    page.get_by_placeholder("Add a tag").fill("Warranty claim")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("link", name="warranty-claim")).to_be_visible()

    page.get_by_text("Email as sent").first.click()
    frame = page.frame_locator("iframe[title='The email as it was sent']")
    expect(frame.locator("b")).to_have_text("photo")

    expect(page.get_by_label("Cc")).to_have_value("bo@customer.test, carl@customer.test")
    page.get_by_label("Cc").fill("bo@customer.test")
    label = tmp_path / "warranty label.pdf"
    label.write_bytes(b"%PDF-1.4 label")
    page.get_by_label("Attach files").set_input_files(label)
    page.get_by_label("Message").fill("Here is your return label.")
    page.get_by_role("button", name="Send and set pending").click()
    expect(page.locator(".flash")).to_have_text("Reply queued for sending; the ticket is pending.")
    expect(page.locator(".msg-outbound")).to_contain_text("warranty label.pdf")
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        reply = ticket.messages[-1]
        assert (reply.cc, [a.filename for a in reply.attachments]) == (
            ["bo@customer.test"],
            ["warranty label.pdf"],
        )
        assert ticket.cc == ["bo@customer.test"] and ticket.status == TicketStatus.PENDING


def test_an_agent_sends_a_failed_reply_again(page, live_url, setup, make_user, open_ticket):
    with setup():
        agent_id = make_user(email="ada@helpdesk.test", name="Ada Agent").id
    ticket_id = open_ticket()
    with setup():
        from test_web import _failed_reply

        _failed_reply(ticket_id, agent_id)
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets/{ticket_id}")
    reply = page.locator(".msg-outbound")
    expect(reply.locator(".delivery")).to_have_text("Failed")
    expect(reply).to_contain_text("unreachable: the mail server did not answer")
    reply.get_by_role("button", name="Send again").click()
    expect(page.locator(".flash")).to_have_text("The reply is queued to be sent again.")
    expect(reply.locator(".delivery")).to_have_text("Queued")
    expect(page.locator(".activity")).to_contain_text("sent a failed reply again")
