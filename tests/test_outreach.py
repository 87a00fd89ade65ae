"""Proactive outreach: conversations we start (one to one, by the API, as a campaign), their
first-response rule and SLA, opt-outs and unsubscribes, send rates, and answers threading back."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
import test_sms
from mail_servers import sending_mailbox
from sqlalchemy import func, select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    AuditEvent,
    Customer,
    CustomerIdentity,
    DeliveryState,
    Direction,
    IdentityKind,
    Message,
    Stage,
    StageSource,
    Ticket,
    TicketStatus,
    utcnow,
)
from helpdesk.outbox import run_due
from helpdesk.tickets import campaigns, outreach, service, sla
from helpdesk.tickets import sms as sms_service
from helpdesk.tickets.errors import InvalidInput

# The SMS channel's fixtures: the Twilio stand-in and texts handed in through the webhook.
twilio_server, twilio, text_in = test_sms.twilio_server, test_sms.twilio, test_sms.text_in
NUMBER = "+15550001111"  # the SMS number test_sms's Twilio fixtures text from and to
CUSTOMER_PHONE = "+15550002000"


@pytest.fixture
def mailbox(ctx, smtp_sink):
    return sending_mailbox(smtp_sink)


@pytest.fixture
def sms_number(ctx):
    endpoint = sms_service.add_number(number=NUMBER)
    db.session.commit()
    return endpoint


def a_customer(name: str = "Ann Lee", email: str | None = "ann@example.com", phone=None):
    customer = Customer(name=name, created_at=utcnow())
    db.session.add(customer)
    for kind, value in ((IdentityKind.EMAIL, email), (IdentityKind.PHONE, phone)):
        if value:
            db.session.add(
                CustomerIdentity(customer=customer, kind=kind, value=value, verified_at=utcnow())
            )
    db.session.flush()
    return customer


def start(customer, channel, text, by, *, at=None, **fields) -> Ticket:
    """Start a conversation from a draft of these fields."""
    return outreach.start_conversation(outreach.Draft(customer, channel, text, **fields), by, at=at)


def on_behalf(customer, channel, text, by, *, at=None, **fields) -> Ticket:
    """Take a request on the customer's behalf from a draft of these fields."""
    return outreach.take_on_behalf(outreach.Draft(customer, channel, text, **fields), by, at=at)


def opening(ticket: Ticket) -> Message:
    return ticket.messages[0]


# --- one conversation ---------------------------------------------------------------------------


def test_an_email_conversation_is_a_pending_proactive_ticket_with_its_mail_queued(
    mailbox, make_user
):
    agent = make_user(name="Alex Agent")
    customer = a_customer()
    ticket = start(
        customer, Channel.EMAIL, "Your grinder is back in stock.", agent,
        subject="Back in stock", stage=Stage.CULTIVATION,
    )  # fmt: skip
    db.session.commit()

    assert ticket.proactive is True
    assert ticket.status == TicketStatus.PENDING
    assert (ticket.stage, ticket.intake_stage) == (Stage.CULTIVATION, Stage.CULTIVATION)
    assert ticket.stage_source == StageSource.AGENT
    assert ticket.subject == "Back in stock"
    message = opening(ticket)
    assert message.direction == Direction.OUTBOUND
    assert message.delivery_state == DeliveryState.QUEUED
    assert message.recipient == "ann@example.com"
    assert message.sender == "support@shop.test"
    assert message.subject == f"Back in stock [#{ticket.number}]"
    assert message.text.startswith("Your grinder is back in stock.\n\n--\n")
    assert "http://helpdesk.test/unsubscribe/" in message.text
    assert ticket.first_response_at is None
    assert ticket.last_customer_message_at is None
    assert [e.kind for e in ticket.events] == ["created", "outreach"]


def test_the_mail_carries_one_click_unsubscribe_headers(mailbox, make_user, smtp_sink):
    ticket = start(a_customer(), Channel.EMAIL, "Hello", make_user(), subject="News")
    db.session.commit()
    assert str(run_due("w1")) == "sent 1, retrying 0, failed 0"

    [envelope] = smtp_sink.received
    mime = message_from_bytes(envelope.content, policy=policy.default)
    link = mime["List-Unsubscribe"]
    assert link.startswith("<http://helpdesk.test/unsubscribe/") and link.endswith(">")
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mime["Message-ID"] == opening(ticket).external_id
    assert link[1:-1] in mime.get_body(("plain",)).get_content()


def test_a_reply_to_a_customer_request_carries_no_unsubscribe(
    mailbox, make_user, smtp_sink, inbound
):
    ticket = service.receive(inbound(sender="ann@example.com")).ticket
    service.reply(ticket, make_user(), "Sure")
    db.session.commit()
    run_due("w1")
    mime = message_from_bytes(smtp_sink.received[0].content, policy=policy.default)
    assert mime["List-Unsubscribe"] is None


def test_without_a_stage_the_endpoints_default_or_unknown(mailbox, sms_number, make_user):
    agent = make_user()
    sms_number.default_stage = Stage.USE
    customer = a_customer(phone=CUSTOMER_PHONE)
    by_text = start(customer, Channel.SMS, "Hi there", agent)
    by_mail = start(customer, Channel.EMAIL, "Hi", agent, subject="Hi")
    assert (by_text.stage, by_text.stage_source) == (Stage.USE, StageSource.ENDPOINT_DEFAULT)
    assert (by_mail.stage, by_mail.stage_source) == (Stage.UNKNOWN, StageSource.NONE)
    assert by_text.subject == "Hi there"
    assert opening(by_text).subject is None


def test_bad_input_is_refused_and_nothing_is_kept(mailbox, sms_number, make_user):
    agent = make_user()
    customer = a_customer(phone=None)
    cases = [
        (Channel.EMAIL, "Hi", None, None, "an email needs a subject"),
        (Channel.EMAIL, "  ", "Subject", None, "text must not be empty"),
        (Channel.SMS, "Hi", None, None, "Ann Lee has no phone number to write to"),
        (Channel.EMAIL, "Hi", "S", "bob@example.com", "not one of Ann Lee's identities"),
        (Channel.CHAT, "Hi", None, None, "outreach goes by email or sms"),
    ]
    for channel, text, subject, to, message in cases:
        with pytest.raises(InvalidInput, match=message):
            start(customer, channel, text, agent, subject=subject, to=to)
    assert db.session.scalars(select(Ticket)).all() == []


def test_a_text_longer_than_an_sms_may_be_is_refused(sms_number, make_user):
    customer = a_customer(phone=CUSTOMER_PHONE)
    with pytest.raises(InvalidInput, match="at most 1,600 characters"):
        start(customer, Channel.SMS, "x" * 1601, make_user())


def test_no_mailbox_to_send_from_says_so(ctx, make_user):
    with pytest.raises(service.TicketError, match="no mailbox to send from"):
        start(a_customer(), Channel.EMAIL, "Hi", make_user(), subject="S")


# --- first response and SLA ---------------------------------------------------------------------


def test_no_first_response_until_the_customer_answers_and_an_agent_replies(
    mailbox, make_user, inbound
):
    agent = make_user()
    sla.set_target("purchase", 60, 24 * 60)
    began = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    ticket = start(
        a_customer(), Channel.EMAIL, "Shall we renew?", agent,
        subject="Renewal", stage=Stage.PURCHASE, at=began,
    )  # fmt: skip
    db.session.commit()
    # The resolution target runs from the start; the first response waits for the customer.
    assert ticket.first_response_due_at is None
    assert ticket.resolution_due_at == began + timedelta(hours=24)
    assert ticket.sla_due_at == began + timedelta(hours=24)

    # A second message from us before they answered is no first response either.
    service.reply(ticket, agent, "Just checking in", at=began + timedelta(hours=2))
    assert ticket.first_response_at is None

    answered = began + timedelta(hours=3)
    answer = service.receive(
        inbound(
            sender="ann@example.com",
            subject=f"Re: Renewal [#{ticket.number}]",
            thread_hints=(opening(ticket).external_id,),
            text="Yes please",
            received_at=answered,
        )
    )
    assert answer.ticket is ticket
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_response_due_at == answered + timedelta(hours=1)
    assert ticket.sla_due_at == answered + timedelta(hours=1)

    replied = answered + timedelta(minutes=20)
    service.reply(ticket, agent, "Done", at=replied)
    assert ticket.first_response_at == replied
    assert ticket.first_response_seconds == 20 * 60
    assert ticket.first_response_breached_at is None


def test_a_proactive_ticket_past_its_wait_is_never_breached_for_first_response(mailbox, make_user):
    sla.set_target("use", 30, None)
    began = utcnow() - timedelta(hours=5)
    ticket = start(
        a_customer(), Channel.EMAIL, "Tips", make_user(), subject="Tips", stage=Stage.USE, at=began
    )
    db.session.commit()
    assert sla.record_breaches() == 0
    assert ticket.first_response_breached_at is None


# --- opt-outs and unsubscribes -----------------------------------------------------------------


def test_a_number_that_texted_stop_is_never_texted(sms_number, make_user):
    customer = a_customer(phone=CUSTOMER_PHONE)
    [phone] = [i for i in customer.identities if i.kind == IdentityKind.PHONE]
    phone.opted_out_at, phone.opt_out_reason = utcnow(), "texted STOP"
    with pytest.raises(outreach.OptedOut, match=r"\+15550002000 opted out of text messages"):
        start(customer, Channel.SMS, "Sale!", make_user())
    assert db.session.scalars(select(Ticket)).all() == []


def test_an_unsubscribed_address_gets_no_outreach_but_still_gets_replies(
    client, mailbox, make_user, inbound
):
    agent = make_user()
    customer = a_customer()
    first = start(customer, Channel.EMAIL, "News", agent, subject="News")
    db.session.commit()
    link = opening(first).text.rsplit(" ", 1)[-1].removeprefix("http://helpdesk.test")

    page = client.get(link)
    assert page.status_code == 200 and "ann@example.com" in page.text
    assert client.post(link).status_code == 200
    db.session.expire_all()
    assert outreach.unsubscribed("ann@example.com")

    with pytest.raises(outreach.OptedOut, match=r"ann@example\.com unsubscribed"):
        start(customer, Channel.EMAIL, "More", agent, subject="More")
    # Their own request is answered as ever.
    ticket = service.receive(inbound(sender="ann@example.com", text="Question")).ticket
    assert service.reply(ticket, agent, "Answer").delivery_state == DeliveryState.QUEUED


def test_a_mail_clients_one_click_post_unsubscribes(client, mailbox, make_user):
    ticket = start(a_customer(), Channel.EMAIL, "News", make_user(), subject="News")
    db.session.commit()
    path = outreach.unsubscribe_url("ann@example.com").removeprefix("http://helpdesk.test")
    assert path in opening(ticket).text
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert outreach.unsubscribed("ann@example.com")


def test_a_forged_unsubscribe_link_is_not_found(client, ctx):
    assert client.get("/unsubscribe/not-a-token").status_code == 404
    assert client.post("/unsubscribe/not-a-token").status_code == 404


# --- send rates ---------------------------------------------------------------------------------


def test_each_endpoint_sends_outreach_at_its_rate(mailbox, sms_number, make_user, app):
    agent = make_user()
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    customers = [a_customer(f"C{n}", f"c{n}@example.com", f"+1555000300{n}") for n in range(3)]
    texts = [start(c, Channel.SMS, "Hi", agent, at=at) for c in customers]
    mails = [start(c, Channel.EMAIL, "Hi", agent, subject="S", at=at) for c in customers]
    # 1 per second per number, 10 per second per mailbox (the defaults).
    assert [opening(t).next_attempt_at for t in texts] == [
        at,
        at + timedelta(seconds=1),
        at + timedelta(seconds=2),
    ]
    assert [opening(t).next_attempt_at for t in mails] == [
        at,
        at + timedelta(seconds=0.1),
        at + timedelta(seconds=0.2),
    ]
    # Settable; a later start takes the slot after the last one given out.
    app.config["HELPDESK_OUTREACH_SMS_PER_SECOND"] = 0.5
    try:
        later = start(customers[0], Channel.SMS, "Again", agent, at=at)
    finally:
        app.config["HELPDESK_OUTREACH_SMS_PER_SECOND"] = 1.0
    assert opening(later).next_attempt_at == at + timedelta(seconds=4)


def test_the_worker_sends_each_text_no_sooner_than_its_slot(sms_number, make_user, twilio):
    agent = make_user()
    customers = [a_customer(f"C{n}", None, f"+1555000300{n}") for n in range(3)]
    now = utcnow()
    for customer in customers:
        start(customer, Channel.SMS, "Hi", agent, at=now)
    db.session.commit()

    assert str(run_due("w1", now=now)) == "sent 1, retrying 0, failed 0"
    assert str(run_due("w1", now=now + timedelta(seconds=0.5))) == "sent 0, retrying 0, failed 0"
    assert str(run_due("w1", now=now + timedelta(seconds=2))) == "sent 2, retrying 0, failed 0"
    assert [form["To"] for form in twilio.sent()] == [
        "+15550003000",
        "+15550003001",
        "+15550003002",
    ]
    # A text we start says how to stop them.
    assert {form["Body"] for form in twilio.sent()} == {"Hi\nReply STOP to opt out."}


# --- answers thread back ------------------------------------------------------------------------


def test_the_customers_text_answer_lands_on_the_conversation(
    sms_number, make_user, twilio, text_in
):
    customer = a_customer(phone=CUSTOMER_PHONE)
    ticket = start(customer, Channel.SMS, "Your order shipped", make_user())
    db.session.commit()
    run_due("w1", now=utcnow() + timedelta(seconds=5))
    assert twilio.sent()[0]["To"] == CUSTOMER_PHONE
    assert twilio.sent()[0]["From"] == NUMBER

    text_in("Thanks! When will it arrive?")
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert [m.direction for m in ticket.messages] == [Direction.OUTBOUND, Direction.INBOUND]
    assert ticket.status == TicketStatus.OPEN
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


# --- POST /api/v1/tickets -----------------------------------------------------------------------


@pytest.fixture
def api(client, mailbox, sms_number, make_user, make_token):
    """POST a body to /api/v1/tickets as Ada with her own token; (status, JSON)."""
    headers = {"Authorization": f"Bearer {make_token(make_user(name='Ada Agent'))}"}

    def post(body):
        response = client.post("/api/v1/tickets", json=body, headers=headers)
        return response.status_code, response.get_json()

    return post


def test_the_api_starts_a_conversation_with_a_new_customer_by_phone(api, twilio):
    status, ticket = api(
        {
            "customer": {"phone": "+1 555 000 2000", "name": "Ann Lee"},
            "channel": "sms",
            "text": "Your table is ready for pickup.",
            "stage": "purchase",
            "outbound": True,
        }
    )
    assert status == 201, ticket
    assert ticket["proactive"] is True
    assert ticket["status"] == "pending"
    assert (ticket["stage"], ticket["stage_source"]) == ("purchase", "api")
    assert ticket["customer"]["name"] == "Ann Lee"
    assert ticket["customer"]["identities"][0]["value"] == CUSTOMER_PHONE
    [message] = ticket["messages"]
    assert (message["direction"], message["recipient"]) == ("outbound", CUSTOMER_PHONE)
    assert ticket["first_response_at"] is None
    db.session.expire_all()
    [audit] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "api.create_ticket")
    ).all()
    assert audit.after["text"] == "Your table is ready for pickup."


def test_the_api_records_a_request_on_a_known_customers_behalf(api):
    customer = a_customer()
    db.session.commit()
    status, ticket = api(
        {
            "customer": customer.id,
            "channel": "email",
            "subject": "Called about a refund",
            "text": "My grinder arrived broken; I want a refund.",
            "outbound": False,
        }
    )
    assert status == 201, ticket
    assert ticket["proactive"] is False
    assert ticket["status"] == "new"
    assert (ticket["stage"], ticket["stage_source"]) == ("unknown", "none")
    [message] = ticket["messages"]
    assert (message["direction"], message["sender"]) == ("inbound", "ann@example.com")
    assert message["text"] == "My grinder arrived broken; I want a refund."
    assert message["thread_reason"] == "taken on the customer's behalf by Ada Agent"


def test_the_api_finds_a_customer_by_their_email_instead_of_making_another(api):
    customer = a_customer()
    db.session.commit()
    status, ticket = api(
        {
            "customer": {"email": "ANN@example.com"},
            "channel": "email",
            "subject": "Hello",
            "text": "Hi",
            "outbound": True,
        }
    )
    assert status == 201
    assert ticket["customer"]["id"] == customer.id


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"channel": "sms", "text": "Hi", "outbound": True}, 400, "invalid", "customer"),
        ({"customer": 1, "channel": "chat", "text": "Hi", "outbound": True}, 400,
         "invalid", "channel"),
        ({"customer": 1, "channel": "email", "text": "Hi", "outbound": True}, 400,
         "invalid", "subject"),
        ({"customer": 1, "channel": "sms", "text": "", "outbound": True}, 400,
         "invalid", "text"),
        ({"customer": {"email": "nobody"}, "channel": "sms", "text": "Hi", "outbound": True},
         400, "invalid", "customer.email"),
        ({"customer": 1, "channel": "sms", "text": "Hi", "outbound": True, "x": 1}, 400,
         "invalid", "x"),
        ({"customer": 1, "channel": "sms", "text": "Hi", "outbound": True,
          "endpoint": "+15559999999"}, 400, "invalid", "endpoint"),
        ({"customer": 999, "channel": "sms", "text": "Hi", "outbound": True}, 404,
         "not_found", "no customer with id 999"),
        ({"customer": 1, "channel": "sms", "text": "Hi", "outbound": True}, 422,
         "invalid_input", "has no phone number"),
    ],
)  # fmt: skip
def test_the_api_refuses_bad_input_and_keeps_nothing(api, body, status, code, words):
    a_customer()
    db.session.commit()
    answer_status, answer = api(body)
    assert (answer_status, answer["error"]["code"]) == (status, code), answer
    assert words in answer["error"]["message"]
    assert db.session.scalars(select(Ticket)).all() == []


def test_the_api_refuses_an_opted_out_recipient_with_409(api):
    customer = a_customer(phone=CUSTOMER_PHONE)
    outreach.unsubscribe("ann@example.com")
    db.session.commit()
    status, answer = api(
        {
            "customer": customer.id,
            "channel": "email",
            "subject": "S",
            "text": "Hi",
            "outbound": True,
        }
    )
    assert (status, answer["error"]["code"]) == (409, "opted-out")
    assert "ann@example.com unsubscribed" in answer["error"]["message"]
    # A request taken on their behalf is theirs: it is recorded all the same.
    status, _ = api(
        {
            "customer": customer.id,
            "channel": "email",
            "subject": "S",
            "text": "Hi",
            "outbound": False,
        }
    )
    assert status == 201


# --- campaigns ----------------------------------------------------------------------------------


def day(n: int) -> datetime:
    return datetime(2026, 12, n, 12, 0, tzinfo=UTC)


@pytest.fixture
def segment_people(mailbox, sms_number, make_user):
    """Seven customers, four in the purchase segment of 1-5 December (hand-picked cases)."""
    agent = make_user()

    def person(name, email=None, phone=None, *, claimed=False):
        customer = a_customer(name, email, phone)
        if claimed:
            customer.identities[0].verified_at = None
        return customer

    def request(customer, stage, when, channel=Channel.EMAIL, tag=None):
        ticket = on_behalf(
            customer, channel, "A question", agent, subject="Q", stage=stage, at=when
        )
        if tag:
            service.add_tag(ticket, agent, tag)
        return ticket

    both = person("Both", "both@example.com", "+15550003001")
    request(both, Stage.PURCHASE, day(2))
    request(both, Stage.PURCHASE, day(4))  # two tickets: one recipient
    gone = person("Unsubscribed", "gone@example.com")
    outreach.unsubscribe("gone@example.com")
    request(gone, Stage.PURCHASE, day(3), tag="vip")
    stopped = person("Stopped", phone="+15550003002")
    stopped.identities[0].opted_out_at = day(1)
    stopped.identities[0].opt_out_reason = "texted STOP"
    request(stopped, Stage.PURCHASE, day(5), Channel.SMS, tag="vip")
    claimed = person("Claimed", "claimed@example.com", claimed=True)
    request(claimed, Stage.PURCHASE, day(1))
    request(person("Too early", "early@example.com"), Stage.PURCHASE, day(1) - timedelta(days=1))
    request(person("Other stage", "use@example.com"), Stage.USE, day(2))
    later = request(person("Merged", "merged@example.com"), Stage.PURCHASE, day(3))
    service.merge(
        later,
        request(person("Target", None, "+15550003009"), Stage.USE, day(3), Channel.SMS),
        agent,
    )
    db.session.commit()
    return agent


def test_a_stage_segments_preview_counts_who_is_reached_and_who_is_left_out(segment_people):
    segment = campaigns.Segment.of(Stage.PURCHASE, day(1).date(), day(5).date())
    by_mail = campaigns.preview(segment, Channel.EMAIL)
    assert [c.name for c, _ in by_mail.recipients] == ["Both"]
    # Unsubscribed: gone@; no proven address: Stopped (none) and Claimed (only typed).
    assert (by_mail.opted_out, by_mail.unsubscribed, by_mail.no_identity) == (0, 1, 2)
    by_text = campaigns.preview(segment, Channel.SMS)
    assert [identity.value for _, identity in by_text.recipients] == ["+15550003001"]
    # Opted out: Stopped; no number: Unsubscribed and Claimed.
    assert (by_text.opted_out, by_text.unsubscribed, by_text.no_identity) == (1, 0, 2)


def test_a_tag_segment_and_a_one_day_range(segment_people):
    tagged = campaigns.preview(campaigns.Segment.of(tag=" VIP "), Channel.EMAIL)
    assert (len(tagged.recipients), tagged.unsubscribed, tagged.no_identity) == (0, 1, 1)
    first_day = campaigns.preview(
        campaigns.Segment.of(Stage.PURCHASE, day(1).date(), day(1).date()), Channel.EMAIL
    )
    assert (len(first_day.recipients), first_day.left_out) == (0, 1)  # Claimed only


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, "choose a journey stage"),
        ({"stage": Stage.USE, "first_day": day(2).date()}, "needs its first and last day"),
        ({"stage": Stage.USE, "first_day": day(2).date(), "last_day": day(1).date()},
         "comes before"),
        ({"tag": "not a tag!"}, "tag"),
    ],
)  # fmt: skip
def test_a_segment_that_makes_no_sense_is_refused(ctx, fields, words):
    with pytest.raises(InvalidInput, match=words):
        campaigns.Segment.of(**fields)


def test_sending_a_campaign_starts_one_ticket_per_recipient_and_records_it(
    segment_people, make_user
):
    manager = make_user(role="manager", name="Mia Manager")
    segment = campaigns.Segment.of(Stage.PURCHASE, day(1).date(), day(5).date())
    campaign = campaigns.send(
        segment, Channel.SMS, "Our spring beans are in.", manager, stage=Stage.CULTIVATION
    )
    db.session.commit()

    assert (campaign.recipients, campaign.opted_out, campaign.no_identity) == (1, 1, 2)
    assert campaign.segment == {"stage": "purchase", "from": "2026-12-01", "to": "2026-12-05"}
    [ticket] = db.session.scalars(select(Ticket).where(Ticket.proactive)).all()
    assert ticket.customer.name == "Both"
    assert ticket.stage == Stage.CULTIVATION
    assert ticket.events[-1].to_value == f"started by Mia Manager in campaign {campaign.id}"
    assert opening(ticket).recipient == "+15550003001"
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "campaign.created")
    ).one()
    assert audit.after["recipients"] == 1


def test_a_campaign_nobody_can_receive_is_refused(segment_people, make_user):
    segment = campaigns.Segment.of(tag="vip")
    with pytest.raises(InvalidInput, match="nobody in this segment"):
        campaigns.send(segment, Channel.EMAIL, "Hi", make_user(), subject="S", stage=Stage.USE)


# --- the web pages ------------------------------------------------------------------------------


def test_an_agent_starts_a_conversation_from_the_customer_page(client, login, mailbox):
    agent_id = login(name="Alex Agent")
    customer = a_customer(phone=CUSTOMER_PHONE)
    db.session.commit()
    [email] = [i for i in customer.identities if i.kind == IdentityKind.EMAIL]

    page = client.get(f"/customers/{customer.id}")
    assert "Start a conversation" in page.text
    assert "Email · ann@example.com" in page.text and "SMS · +15550002000" in page.text

    answer = client.post(
        f"/customers/{customer.id}/outreach",
        data={
            "outreach-to": str(email.id),
            "outreach-sender": "",
            "outreach-subject": "Your order",
            "outreach-text": "It shipped today.",
            "outreach-stage": "purchase",
        },
    )
    db.session.expire_all()
    [ticket] = db.session.scalars(select(Ticket)).all()
    assert answer.status_code == 302 and answer.location == f"/tickets/{ticket.id}"
    assert ticket.proactive and ticket.assignee_id == agent_id
    assert ticket.stage == Stage.PURCHASE and ticket.stage_source == StageSource.AGENT
    assert "Proactive" in client.get(f"/tickets/{ticket.id}").text
    assert "Proactive" in client.get("/tickets?status=pending").text


def test_the_outreach_form_keeps_the_text_and_says_what_is_wrong(client, login, mailbox):
    login()
    customer = a_customer(phone=CUSTOMER_PHONE)
    [phone] = [i for i in customer.identities if i.kind == IdentityKind.PHONE]
    phone.opted_out_at, phone.opt_out_reason = utcnow(), "texted STOP"
    [email] = [i for i in customer.identities if i.kind == IdentityKind.EMAIL]
    db.session.commit()
    path = f"/customers/{customer.id}/outreach"
    data = {
        "outreach-to": str(email.id),
        "outreach-sender": "",
        "outreach-stage": "",
        "outreach-text": "Keep me",
    }

    no_subject = client.post(path, data=data)
    assert no_subject.status_code == 400
    assert "an email needs a subject" in no_subject.text and "Keep me" in no_subject.text
    stopped = client.post(path, data={**data, "outreach-to": str(phone.id)})
    assert stopped.status_code == 400 and "opted out of text messages" in stopped.text
    stale = client.post(path, data={**data, "outreach-to": "999999", "outreach-subject": "S"})
    assert stale.status_code == 400 and "Not a valid choice" in stale.text
    assert db.session.scalars(select(Ticket)).all() == []
    assert client.post("/customers/999999/outreach", data=data).status_code == 404


def test_managers_preview_and_send_a_campaign_agents_may_not(client, login, segment_people):
    data = {
        "segment": "stage",
        "segment_stage": "purchase",
        "first_day": "2026-12-01",
        "last_day": "2026-12-05",
        "channel": "email",
        "sender": "",
        "subject": "Spring beans",
        "text": "They are in.",
        "stage": "cultivation",
    }
    login()
    assert client.get("/outreach").status_code == 403
    client.post("/logout")
    login(role="manager", name="Mia Manager")

    preview = client.post("/outreach", data={**data, "preview": "Preview"})
    assert preview.status_code == 200
    assert "<strong>1</strong> customer will receive it" in preview.text
    assert "<strong>3</strong> left out: 0 opted out of texts, 1 unsubscribed" in preview.text
    assert "Both (both@example.com)" in preview.text
    previewed = re.search(r'name="previewed" type="hidden" value="([^"]*)"', preview.text)
    key = html.unescape(previewed.group(1))

    unpreviewed = client.post("/outreach", data={**data, "send": "Send to 1"})
    assert unpreviewed.status_code == 400 and "Preview it first" in unpreviewed.text
    changed = client.post(
        "/outreach", data={**data, "channel": "sms", "previewed": key, "send": "Send to 1"}
    )
    assert changed.status_code == 400 and "changed since the preview" in changed.text
    assert db.session.scalars(select(Ticket).where(Ticket.proactive)).all() == []

    sent = client.post("/outreach", data={**data, "previewed": key, "send": "Send to 1"})
    assert sent.status_code == 302
    page = client.get("/outreach")
    assert "Campaign sent: 1 customer will get it" in page.text
    assert "purchase tickets from 2026-12-01 to 2026-12-05: 1 sent, 3 left out" in page.text
    db.session.expire_all()
    [ticket] = db.session.scalars(select(Ticket).where(Ticket.proactive)).all()
    assert opening(ticket).recipient == "both@example.com"


def test_a_campaign_form_with_a_bad_segment_says_so(client, login, mailbox):
    login(role="manager")
    answer = client.post(
        "/outreach",
        data={"segment": "tag", "tag": "", "channel": "email", "sender": "", "text": "Hi",
              "stage": "use", "segment_stage": "use", "preview": "Preview"},
    )  # fmt: skip
    assert answer.status_code == 400
    assert '<p class="error" id="tag-error">a tag needs a name</p>' in answer.text


def test_a_mailbox_whose_fetching_is_paused_still_sends_outreach(mailbox, make_user):
    mailbox.enabled = False
    ticket = start(a_customer(), Channel.EMAIL, "Hi", make_user(), subject="S")
    assert opening(ticket).sender == "support@shop.test"
