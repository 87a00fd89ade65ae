"""``helpdesk demo``: two months of believable requests, explained by real stage rules, once."""

import os
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from mail_servers import free_port
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from channels.base import Channel, InboundMessage
from helpdesk import demo, demo_channels, inbox
from helpdesk.chat import sites
from helpdesk.demo.content import TEMPLATES
from helpdesk.demo.wording import roughen, word
from helpdesk.extensions import db
from helpdesk.mail import mailboxes
from helpdesk.models import (
    Customer,
    CustomerIdentity,
    DeliveryState,
    Direction,
    IdentityKind,
    InboundEmail,
    InboxItem,
    IntakeOutcome,
    Macro,
    Message,
    Priority,
    Role,
    Stage,
    StageRule,
    StageSource,
    Survey,
    SurveyKind,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.outbox import AdapterRegistry, twilio_adapter
from helpdesk.stage_model import training
from helpdesk.stage_model.evaluation import evaluate
from helpdesk.tickets import service
from helpdesk.tickets.stages import decide, ordered_rules, rule_matches


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[Channel, str], InboundMessage]:
    """Every message the demo hands to the ticket service, by channel and external id."""
    messages: dict[tuple[Channel, str], InboundMessage] = {}
    receive = service.receive

    def record(msg: InboundMessage):
        messages[(msg.channel, msg.external_id)] = msg
        return receive(msg)

    monkeypatch.setattr(service, "receive", record)
    return messages


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot() -> dict[str, int]:
    models = (User, Customer, CustomerIdentity, Ticket, Message, TicketEvent, StageRule, Macro)
    return {model.__name__: count(model) for model in models}


def first_message(ticket: Ticket) -> Message:
    return next(m for m in ticket.messages if m.direction == Direction.INBOUND)


# A seeded sample of the demo, one customer to five tickets as in the full one: the full
# thousand tickets (`make demo`) took minutes of the suite; HELPDESK_TEST_DEMO_TICKETS=1000 runs
# this test at that size. The smaller demo below covers PostgreSQL.
DEMO_TICKETS = int(os.environ.get("HELPDESK_TEST_DEMO_TICKETS", "400"))
DEMO_CUSTOMERS = DEMO_TICKETS // 5


@pytest.mark.once
def test_demo_loads_two_months_of_requests_on_every_channel(ctx, runner, received):
    started = utcnow()
    size = ["--tickets", str(DEMO_TICKETS), "--customers", str(DEMO_CUSTOMERS)]
    result = runner.invoke(args=["demo", *size])
    assert result.exit_code == 0, result.output
    assert "Tickets by stage: advocacy" in result.output
    for member in demo.STAFF:
        assert f"{member.role.value}  {member.email}  demo-password" in result.output.splitlines()

    roles = Counter(db.session.scalars(select(User.role)))
    assert roles == {Role.AGENT: 3, Role.MANAGER: 1, Role.ADMIN: 1}
    assert all(user.check_password("demo-password") for user in db.session.scalars(select(User)))

    assert 0.9 * DEMO_CUSTOMERS <= count(Customer) <= 1.1 * DEMO_CUSTOMERS
    kinds = {kind: set() for kind in IdentityKind}
    for identity in db.session.scalars(select(CustomerIdentity)):
        kinds[identity.kind].add(identity.customer_id)
    assert len(kinds[IdentityKind.EMAIL] & kinds[IdentityKind.PHONE]) >= DEMO_CUSTOMERS / 10

    tickets = db.session.scalars(
        select(Ticket).options(selectinload(Ticket.messages), selectinload(Ticket.endpoint))
    ).all()
    assert 0.95 * DEMO_TICKETS <= len(tickets) <= 1.05 * DEMO_TICKETS
    assert all(started - timedelta(days=60) <= t.created_at <= utcnow() for t in tickets)
    assert db.session.scalar(select(func.max(TicketEvent.created_at))) <= utcnow()
    assert {t.channel for t in tickets} == set(Channel)
    assert {t.stage for t in tickets} >= set(Stage) - {Stage.UNKNOWN}

    statuses = Counter(t.status for t in tickets)
    assert statuses[TicketStatus.SOLVED] and statuses[TicketStatus.CLOSED]
    assert statuses[TicketStatus.NEW] + statuses[TicketStatus.OPEN] + statuses[TicketStatus.PENDING]
    assert count(select(TicketEvent).where(TicketEvent.kind == "reopened").subquery())
    follow_ups = [t for t in tickets if t.previous_ticket is not None]
    assert any(t.channel == Channel.EMAIL for t in follow_ups)
    assert all(t.previous_ticket.status == TicketStatus.CLOSED for t in follow_ups)
    assert len({t.priority for t in tickets}) == 4
    assert sum(t.assignee is None for t in tickets) < len(tickets) / 10
    # A dozen conversations agents started, for the reports' proactive figures.
    proactive = [t for t in tickets if t.proactive]
    assert len(proactive) == 12 and {t.stage for t in proactive} == {Stage.CULTIVATION}

    _assert_conversations_are_threaded(tickets)
    _assert_stages_are_explained(tickets, received)
    _assert_the_stage_model_learns_but_not_perfectly()

    # Survey answers for the manager's report, on every channel; texts answered by SMS. Use,
    # cultivation and advocacy ask NPS, the other stages CSAT.
    rated = db.session.execute(
        select(Survey.channel, Survey.kind, Survey.score, Survey.stage)
        .join(Ticket, Survey.ticket_id == Ticket.id)
        .where(Survey.score.is_not(None))
    ).all()
    assert len(rated) > DEMO_TICKETS / 10
    assert {channel for channel, _, _, _ in rated} == set(Channel)
    # Unhappy, middling and happy answers (which rare low score comes up depends on the day the
    # demo is loaded on: it is planned back from now).
    csat_scores = {score for _, kind, score, _ in rated if kind == SurveyKind.CSAT}
    assert csat_scores & {1, 2} and 3 in csat_scores and {4, 5} <= csat_scores
    # Detractors, passives and promoters alike (which rare low scores come up is chance).
    nps_scores = {score for _, kind, score, _ in rated if kind == SurveyKind.NPS}
    assert nps_scores & set(range(7)) and nps_scores & {7, 8} and nps_scores & {9, 10}
    assert len(nps_scores) >= 8
    assert {stage for _, kind, _, stage in rated if kind == SurveyKind.NPS} <= {
        Stage.USE,
        Stage.CULTIVATION,
        Stage.ADVOCACY,
    }
    # Unhappy answers were flagged; most of them followed up since.
    flagged = db.session.scalars(select(Survey).where(Survey.follow_up.is_not(None))).all()
    assert flagged and any(s.followed_up_at for s in flagged)

    # The worker must not send two months of made-up replies.
    outbound = Counter(
        db.session.scalars(select(Message.delivery_state).where(Message.direction == "outbound"))
    )
    assert outbound[DeliveryState.QUEUED] == 0
    assert outbound[DeliveryState.DELIVERED] > 0.9 * sum(outbound.values())

    before = snapshot()
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output
    assert f"admin  {demo.STAFF[-1].email}  demo-password" in again.output
    assert snapshot() == before


def _assert_conversations_are_threaded(tickets: list[Ticket]) -> None:
    for channel in Channel:
        longest = max(sum(m.is_public for m in t.messages) for t in tickets if t.channel == channel)
        assert longest > 2, channel
    reasons = [m.thread_reason for t in tickets for m in t.messages]
    # Customers answer our email replies, which thread by our own Message-ID.
    assert any(r.startswith("reply to message <") for r in reasons)
    assert any(r.startswith("latest text conversation") for r in reasons)
    assert any(r.startswith("chat conversation") for r in reasons)
    assert "internal note" in reasons
    assert all(t.first_response_at for t in tickets if t.status == TicketStatus.SOLVED)


def _assert_stages_are_explained(tickets: list[Ticket], received: dict) -> None:
    """Each intake stage is what the engine says about the message that opened the ticket
    (a conversation an agent started has its stage from the agent)."""
    rules = ordered_rules()
    by_name = {rule.name: rule for rule in rules}
    sources = Counter()
    for ticket in tickets:
        if ticket.proactive:
            assert ticket.stage_source == StageSource.AGENT
            continue
        stored = first_message(ticket)
        msg = received[(ticket.channel, stored.external_id)]
        assert (msg.text, msg.subject, msg.recipient) == (
            stored.text,
            stored.subject,
            stored.recipient,
        )
        decision = decide(msg, ticket.endpoint, rules)
        assert (decision.stage, decision.rule) == (ticket.intake_stage, ticket.intake_rule)
        if ticket.stage_source != StageSource.AGENT:
            assert (ticket.stage, ticket.stage_reason) == (decision.stage, decision.reason)
        if ticket.stage_source == StageSource.RULE:
            assert rule_matches(by_name[ticket.intake_rule], msg, ticket.endpoint)
        sources[ticket.stage_source] += 1
    # About half (README: the model has the rest to learn from); a sample drifts either side.
    assert 0.4 * len(tickets) < sources[StageSource.RULE] < 0.7 * len(tickets)
    assert sources[StageSource.ENDPOINT_DEFAULT] and sources[StageSource.CUSTOMER]
    corrected = [t for t in tickets if t.stage_source == StageSource.AGENT and not t.proactive]
    assert corrected and all(t.stage != t.intake_stage for t in corrected)


def _assert_the_stage_model_learns_but_not_perfectly() -> None:
    """Each stage's requests come worded many ways, so the model's hold-out figure is honest:
    good, not perfect, and better than the rules and defaults where no rule and no customer
    choice decided."""
    # The default minimum (20 examples a stage) fits the full demo; a sample needs less.
    kept, left_out = training.trainable(training.examples(), 20 * DEMO_TICKETS // 1000)
    assert not left_out
    figures = evaluate(kept)
    assert 0.75 <= figures.model.accuracy < 0.99
    assert figures.fallback_size >= 40 * DEMO_TICKETS // 1000
    assert figures.fallback_model.accuracy > figures.fallback_baseline.accuracy + 0.1
    assert figures.fallback_model.macro_f1 > figures.fallback_baseline.macro_f1


def test_customers_word_the_same_request_many_ways_and_the_same_seed_the_same_way():
    damaged = next(t for t in TEMPLATES if "arrived damaged" in t.subjects[0])
    draw = random.Random(1)
    requests = [word(draw, damaged) for _ in range(40)]
    assert len({r.subject for r in requests}) >= len(damaged.subjects)
    assert len({r.opening for r in requests}) >= 15  # openings with and without details
    draw = random.Random(1)
    assert [word(draw, damaged) for _ in range(40)] == requests


def test_hurried_typing_keeps_a_texted_keyword_names_and_numbers():
    draw = random.Random(2)
    text = "TRACK RC-20001 please, the Vela E61 never came and the courier said nothing"
    typed = [roughen(draw, text, Channel.SMS) for _ in range(60)]
    assert len(set(typed)) >= 5 and text in typed
    assert all(t.split()[0].upper() == "TRACK" for t in typed)
    assert all("rc-20001" in t.lower() and "vela e61" in t.lower() for t in typed)


def test_smaller_demo_then_any_rerun_adds_nothing(ctx, runner):
    result = runner.invoke(args=["demo", "--tickets", "80", "--customers", "20"])
    assert result.exit_code == 0, result.output
    assert count(Customer) == 20
    # The customers' 80 requests, and the conversations agents started with some of them.
    assert count(select(Ticket).where(Ticket.proactive.is_(False)).subquery()) == 80
    assert {m.name for m in service.shared_macros()} >= {"Refund issued", "Ask for order number"}
    loaded = snapshot()
    for args in (["demo"], ["demo", "--tickets", "80", "--customers", "20"]):
        again = runner.invoke(args=args)
        assert again.exit_code == 0, again.output
        assert "already loaded" in again.output
        assert snapshot() == loaded


# --- the demo's own channels: a mail sink, a shop page, customers' mail and texts handed in ---

SHOP = "http://127.0.0.1:5001"


@pytest.fixture
def demo_mail(ctx, demo_sinks) -> tuple[int, int, Path]:
    """The demo set up to send its mail to the demo's sinks: (smtp, twilio, directory)."""
    demo_channels.set_up([SHOP], demo_sinks[0])
    db.session.commit()
    return demo_sinks


def test_the_demo_site_opens_chat_to_the_shop_page_and_replies_from_the_demo_mailbox(ctx, runner):
    result = runner.invoke(
        args=["demo", "--tickets", "6", "--customers", "4", "--smtp-port", "2600"]
    )
    assert result.exit_code == 0, result.output
    site = demo_channels.demo_site()
    assert site is not None and site.address == demo.SITE
    assert sites.origin_allowed(site, "http://127.0.0.1:5001")
    assert sites.origin_allowed(site, "http://localhost:5001")
    assert sites.mailbox_of(site).address == demo.MAILBOX
    smtp = mailboxes.smtp_settings_for(demo.MAILBOX)
    assert (smtp.host, smtp.port, smtp.security) == ("127.0.0.1", 2600, "none")
    assert not mailboxes.mailbox_for(demo.MAILBOX).enabled  # nothing to read by IMAP
    # Mail handed in gets its stage as the demo's own mail does: the mailbox keeps its default.
    for to, stage in ((demo.MAILBOX, Stage.USE), (f"sales@{demo.DOMAIN}", Stage.PURCHASE)):
        logged = demo_channels.hand_in_email("ann@example.com", f"To {to}", "Hello", to=to)
        assert logged.message.ticket.stage == stage
    # What an admin sets on the site is kept.
    site.settings = {**site.settings, "origins": [*site.settings["origins"], "https://x.test"]}
    secret = sites.secret_of(site)
    db.session.commit()

    again = runner.invoke(
        args=["demo", "--tickets", "6", "--customers", "4", "--shop-port", "5002"]
    )
    assert again.exit_code == 0, again.output
    site = demo_channels.demo_site()
    assert sites.secret_of(site) == secret
    assert {"https://x.test", SHOP, "http://127.0.0.1:5002"} <= set(site.settings["origins"])
    assert mailboxes.smtp_settings_for(demo.MAILBOX).port == demo_channels.SMTP_PORT


def test_the_shop_page_carries_the_widget_tag_of_the_demo_site(ctx):
    demo_channels.set_up([SHOP], demo_channels.SMTP_PORT)
    db.session.commit()
    snippet = sites.embed_snippet(demo_channels.demo_site(), "http://helpdesk.test")
    shop = demo_channels.shop_app(snippet).test_client()
    for path in ("/", "/pricing", "/docs/grinder"):
        page = shop.get(path)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert html.count("<script") == 1
        assert (
            f'<script src="http://helpdesk.test/chat/widget.js" data-site="{demo.SITE}" async>'
            in html
        )
    # Links to the pages the demo's stage rules know, so a chat opened there gets their stage.
    assert 'href="/pricing"' in html and 'href="/docs/grinder"' in html
    assert shop.get("/nowhere").status_code == 404


def test_a_demo_email_reply_is_delivered_to_the_mail_sink_and_reads_back(
    ctx, runner, demo_mail, make_user
):
    *_, directory = demo_mail
    handed = runner.invoke(
        args=[
            *("demo", "email", "--from", "ann@example.com", "--name", "Ann Lee"),
            *("--subject", "Grinder clicking", "--text", "It clicks since I cleaned it."),
        ]
    )
    assert handed.exit_code == 0, handed.output
    ticket = db.session.scalar(select(Ticket))
    assert f"Mail stored on ticket #{ticket.number}" in handed.output
    agent = make_user(name="Priya Natarajan")
    reply = service.reply(ticket, agent, "Line up the white dot with the arrow.\n\nPriya")
    db.session.commit()

    worked = runner.invoke(args=["worker", "--once"])
    assert worked.exit_code == 0, worked.output
    db.session.refresh(reply)
    assert reply.delivery_state == DeliveryState.SENT, reply.error_text
    kept = list(directory.glob("*.eml"))
    assert len(kept) == 1

    outbox = runner.invoke(args=["demo", "outbox", "--directory", str(directory)])
    assert outbox.exit_code == 0, outbox.output
    assert f"From: {demo.MAILBOX}" in outbox.output
    assert "To: ann@example.com" in outbox.output
    assert f"Subject: Re: Grinder clicking [#{ticket.number}]" in outbox.output
    assert "| Line up the white dot with the arrow." in outbox.output


def test_handed_in_mail_is_taken_in_as_fetched_mail_and_threads_by_ticket_number(
    ctx, runner, demo_mail
):
    first = runner.invoke(
        args=[
            *("demo", "email", "--from", "ann@example.com"),
            *("--subject", "Order 1042 arrived damaged", "--text", "The carafe is cracked."),
        ]
    )
    assert first.exit_code == 0, first.output
    ticket = db.session.scalar(select(Ticket))
    second = runner.invoke(
        args=[
            *("demo", "email", "--from", "ann@example.com"),
            *("--subject", f"Re: [#{ticket.number}] Order 1042", "--text", "Photo attached."),
        ]
    )
    assert second.exit_code == 0, second.output
    assert f"on ticket #{ticket.number}" in second.output
    assert count(Ticket) == 1
    texts = [m.text for m in db.session.scalars(select(Message).order_by(Message.id))]
    assert texts == ["The carafe is cracked.", "Photo attached."]
    # Kept as the IMAP intake keeps mail: raw bytes stored and each mail in the intake log.
    logged = db.session.scalars(select(InboundEmail).order_by(InboundEmail.id)).all()
    assert [row.outcome for row in logged] == [IntakeOutcome.STORED] * 2
    assert all(row.message.raw_ref == row.raw_ref for row in logged)
    assert mailboxes.mailbox_for(demo.MAILBOX).fetched_count == 2


def test_a_handed_in_text_goes_through_the_webhook_inbox(ctx, runner):
    demo_channels.set_up([SHOP], demo_channels.SMTP_PORT)
    db.session.commit()
    handed = runner.invoke(
        args=["demo", "text", "--from", "(555) 000-1234", "--text", "TRACK 1042", "--wait", "0"]
    )
    assert handed.exit_code == 0, handed.output
    assert "stored in the webhook inbox" in handed.output
    assert "takes it in when it runs" in handed.output
    item = db.session.scalar(select(InboxItem))
    assert (item.payload["From"], item.payload["To"]) == ("+15550001234", demo.TEXT_LINE)
    assert count(Ticket) == 0  # the worker takes it in, as with Twilio's webhook

    inbox.process_due()
    later = runner.invoke(
        args=["demo", "text", "--from", "+15550001234", "--text", "Still nothing", "--wait", "0"]
    )
    assert later.exit_code == 0, later.output
    inbox.process_due()
    ticket = db.session.scalar(select(Ticket))
    assert count(Ticket) == 1 and ticket.channel == Channel.SMS
    assert [m.text for m in ticket.messages] == ["TRACK 1042", "Still nothing"]
    assert demo_channels.text_intake(item.external_id).ticket_number == ticket.number


def test_a_demo_text_reply_goes_to_the_twilio_stand_in_and_reads_back(
    app, ctx, runner, demo_mail, make_user, monkeypatch
):
    _, twilio_port, directory = demo_mail
    # As `make demo` configures its processes when no Twilio account is set.
    settings = {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "demo-auth-token",
        "TWILIO_API_URL": f"http://127.0.0.1:{twilio_port}",
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.extensions, "helpdesk.adapters", AdapterRegistry())
    app.extensions["helpdesk.adapters"].register(twilio_adapter(app.config))
    runner.invoke(
        args=["demo", "text", "--from", "+15550001234", "--text", "CALL me", "--wait", "0"]
    )
    inbox.process_due()
    ticket = db.session.scalar(select(Ticket))
    reply = service.reply(ticket, make_user(), "Calling you at 3 pm.")
    db.session.commit()

    worked = runner.invoke(args=["worker", "--once"])
    assert worked.exit_code == 0, worked.output
    db.session.refresh(reply)
    assert reply.delivery_state == DeliveryState.SENT, reply.error_text
    assert reply.external_id.startswith("SM")
    outbox = runner.invoke(args=["demo", "outbox", "--directory", str(directory)])
    assert f"From: {demo.TEXT_LINE}\n  To: +15550001234\n  | Calling you at 3 pm." in outbox.output


def test_the_demo_webhook_receiver_checks_signatures_and_reads_back(
    app, ctx, runner, open_ticket, make_user, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", True)
    port, directory = free_port(), tmp_path / "demo-outbox"
    endpoint = demo_channels.subscribe_receiver(port)
    assert demo_channels.subscribe_receiver(port) is endpoint  # once, however often it runs
    db.session.commit()
    ticket = db.session.get(Ticket, open_ticket(subject="Grinder clicking"))
    with demo_channels.webhook_sink(directory, port):
        service.set_priority(ticket, make_user(), Priority.HIGH)
        db.session.commit()
        assert runner.invoke(args=["worker", "--once"]).exit_code == 0
        forged = requests.post(
            demo_channels.webhook_url(port),
            data=b'{"type": "ticket.updated"}',
            headers={"webhook-id": "msg_x", "webhook-timestamp": "1", "webhook-signature": "v1,x"},
            timeout=5,
        )
    assert forged.status_code == 401
    outbox = runner.invoke(args=["demo", "outbox", "--directory", str(directory)])
    assert "webhook ticket.updated (signature verified)" in outbox.output
    assert "webhook ticket.updated (SIGNATURE DID NOT VERIFY)" in outbox.output
    assert '"priority"' in outbox.output


def test_the_demo_subscribes_no_local_receiver_where_the_install_refuses_them(ctx):
    assert demo_channels.subscribe_receiver(free_port()) is None
