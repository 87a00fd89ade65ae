"""The SMS channel end to end: signed Twilio webhooks in, the real ``twilio`` client out to a
local stand-in (tests/twilio_standin.py), opt-outs, delivery statuses and MMS media."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import twilio_standin
from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from channels import sms
from channels.base import Channel, InboundAttachment, SmsKeyword
from helpdesk.extensions import db
from helpdesk.inbox import process_due
from helpdesk.media import fetch_due
from helpdesk.models import (
    Attachment,
    Customer,
    DeliveryState,
    InboxItem,
    Message,
    Stage,
    Ticket,
    TicketStatus,
    utcnow,
)
from helpdesk.outbox import AdapterRegistry, run_due, twilio_adapter
from helpdesk.tickets import service
from helpdesk.tickets import sms as sms_service
from helpdesk.tickets.customers import add_phone, phone_identity
from helpdesk.tickets.errors import TicketError

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
PUBLIC_URL = "http://helpdesk.test"  # HELPDESK_PUBLIC_URL of the app fixture
NUMBER = "+15550001111"
SERVICE = "MG" + "2" * 32
CUSTOMER = "+15550002000"


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[twilio_standin.TwilioStandin]:
    standin, server = twilio_standin.start(ACCOUNT_SID, AUTH_TOKEN)
    yield standin
    server.shutdown()
    server.server_close()


@pytest.fixture
def twilio(app: Flask, twilio_server, monkeypatch) -> twilio_standin.TwilioStandin:
    """The stand-in, with the app's Twilio settings and its SMS adapter pointed at it."""
    twilio_server.reset()
    settings = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": twilio_server.url,
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    registry = AdapterRegistry()
    registry.register(twilio_adapter(app.config))
    monkeypatch.setitem(app.extensions, "helpdesk.adapters", registry)
    return twilio_server


def sms_form(body: str = "Where is my parcel?", **fields: str) -> dict[str, str]:
    """An inbound message webhook form as Twilio posts it."""
    sid = fields.pop("MessageSid", f"SM{uuid.uuid4().hex}")
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CUSTOMER,
        "ApiVersion": "2010-04-01",
        **fields,
    }


def signature(path: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_URL + path, form)


@pytest.fixture
def text_in(ctx, client, twilio) -> Callable[..., object]:
    """POST a signed inbound SMS webhook, then run the worker's intake as it would moments
    later: ``text_in("STOP", From=...)``; ``intake=False`` leaves it in the inbox."""

    def post(body: str = "Where is my parcel?", intake: bool = True, **fields: str):
        form = sms_form(body, **fields)
        response = client.post(
            "/webhooks/twilio/sms",
            data=form,
            headers={"X-Twilio-Signature": signature("/webhooks/twilio/sms", form)},
        )
        if intake:
            process_due()
        return response

    return post


def status_in(client, form: dict[str, str], query: str = ""):
    path = "/webhooks/twilio/status" + (f"?{query}" if query else "")
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature(path, form)})


def messages() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).order_by(Message.id)))


def only_ticket() -> Ticket:
    db.session.expire_all()
    [ticket] = db.session.scalars(select(Ticket)).all()
    return ticket


# --- provider format --------------------------------------------------------------------------


def test_parse_reads_every_mms_item_and_the_messaging_service():
    form = sms_form(
        "Photos of the damage",
        MessagingServiceSid=SERVICE,
        NumMedia="3",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        MediaContentType1="image/png",
        MediaUrl2="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME3",
        MediaContentType2="video/mp4",
    )

    msg = sms.parse(form)

    assert (msg.channel, msg.endpoint, msg.recipient) == (Channel.SMS, SERVICE, NUMBER)
    assert (msg.external_id, msg.sender, msg.text) == (form["MessageSid"], CUSTOMER, form["Body"])
    assert [(m.filename, m.content_type) for m in msg.media] == [
        ("ME1.jpg", "image/jpeg"),
        ("ME2.png", "image/png"),
        ("ME3.mp4", "video/mp4"),
    ]


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", SmsKeyword.OPT_OUT),
        ("stopall", SmsKeyword.OPT_OUT),
        ("Unsubscribe", SmsKeyword.OPT_OUT),
        ("cancel", SmsKeyword.OPT_OUT),
        (" End. ", SmsKeyword.OPT_OUT),
        ("quit", SmsKeyword.OPT_OUT),
        ("START", SmsKeyword.OPT_IN),
        ("unstop", SmsKeyword.OPT_IN),
        ("Yes", SmsKeyword.OPT_IN),
        ("HELP", SmsKeyword.HELP),
        ("Please stop sending me ads", None),
        ("Cancel my order 1234", None),
    ],
)
def test_only_a_bare_keyword_is_a_keyword(body, keyword):
    assert sms.parse(sms_form(body)).keyword == keyword


def test_a_form_without_message_sid_is_refused():
    form = sms_form()
    del form["MessageSid"], form["SmsMessageSid"]
    with pytest.raises(sms.InvalidForm, match="MessageSid"):
        sms.parse(form)


# --- inbound webhook --------------------------------------------------------------------------


def test_signed_text_is_stored_at_once_and_becomes_a_ticket(ctx, text_in, twilio):
    response = text_in("ORDER 1234 has not arrived", intake=False)

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.data.decode() == sms.EMPTY_TWIML
    assert twilio.requests == []  # nothing asked of Twilio while answering
    [item] = db.session.scalars(select(InboxItem)).all()
    assert item.payload["Body"] == "ORDER 1234 has not arrived"

    assert str(process_due()) == "intake stored 1, duplicates 0, retrying 0, failed 0"

    ticket = only_ticket()
    assert ticket.created_at == item.received_at
    assert (ticket.channel, ticket.endpoint.address, ticket.status) == (
        Channel.SMS,
        NUMBER,
        TicketStatus.NEW,
    )
    [message] = ticket.messages
    assert (message.sender, message.recipient, message.text) == (
        CUSTOMER,
        NUMBER,
        "ORDER 1234 has not arrived",
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": "not-a-signature"},
        {"X-Twilio-Signature": "ünïcödé"},
        # Signed with another account's token.
        {
            "X-Twilio-Signature": RequestValidator("other-token").compute_signature(
                PUBLIC_URL + "/webhooks/twilio/sms", sms_form(MessageSid="SMfixed")
            )
        },
        # Signed for the URL the request reached, not the public one Twilio was given.
        {
            "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
                "http://localhost/webhooks/twilio/sms", sms_form(MessageSid="SMfixed")
            )
        },
    ],
)
def test_unsigned_or_badly_signed_webhooks_are_refused_and_store_nothing(
    ctx, client, twilio, headers
):
    form = sms_form(MessageSid="SMfixed")
    response = client.post("/webhooks/twilio/sms", data=form, headers=headers)

    assert response.status_code == 403
    assert db.session.scalars(select(InboxItem)).all() == []
    assert messages() == []


def test_a_tampered_form_fails_the_signature(ctx, client, twilio):
    form = sms_form("Hello")
    signed = signature("/webhooks/twilio/sms", form)
    form["Body"] = "Hello, send the refund to me instead"

    response = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signed}
    )

    assert response.status_code == 403
    assert messages() == []


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"MessageSid": "SM" + "1" * 5000}, "MessageSid is longer than 64"),
        ({"From": "+1" + "5" * 300}, "From is longer than 254"),
        ({"To": "whatsapp:" + "x" * 300}, "To is longer than 254"),
        ({"NumMedia": "1", "MediaUrl0": "https://a.test/" + "p" * 1000}, "MediaUrl0 is longer"),
        (
            {"NumMedia": "1", "MediaUrl0": "https://a.test/p", "MediaContentType0": "x" * 200},
            "MediaContentType0 is longer",
        ),
    ],
)
def test_a_signed_form_with_overlong_fields_is_refused_with_a_4xx(ctx, text_in, fields, named):
    """PostgreSQL answered these with a 500 (found by bench/fuzz.py): no Twilio message has
    them, and the columns that keep a message cannot hold them."""
    response = text_in(**fields)

    assert response.status_code == 400
    assert named in response.text
    assert db.session.scalars(select(InboxItem)).all() == []


def test_a_media_file_name_from_a_long_url_is_cut_to_fit(ctx, text_in):
    url = "https://api.twilio.com/2010-04-01/Media/" + "p" * 900
    assert text_in(NumMedia="1", MediaUrl0=url, MediaContentType0="image/png").status_code == 200

    [picture] = messages()[0].attachments
    assert picture.filename == "p" * 200 + ".png"


def test_webhooks_are_refused_while_no_auth_token_is_configured(ctx, app, text_in, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", None)
    assert text_in().status_code == 403
    assert messages() == []


def test_the_same_message_sid_twice_stores_one_message(ctx, text_in):
    first = text_in("Where is my parcel?", MessageSid="SMretried", intake=False)
    again = text_in("Where is my parcel?", MessageSid="SMretried")
    later = text_in("Where is my parcel?", MessageSid="SMretried")

    assert [r.status_code for r in (first, again, later)] == [200, 200, 200]
    assert later.data.decode() == sms.EMPTY_TWIML
    assert [m.external_id for m in messages()] == ["SMretried"]
    assert len(db.session.scalars(select(InboxItem)).all()) == 1


def test_a_message_sid_already_on_a_ticket_is_not_stored_again(ctx, text_in, inbound):
    service.receive(inbound(Channel.SMS, endpoint=NUMBER, external_id="SMknown"))
    db.session.commit()

    text_in("Where is my parcel?", MessageSid="SMknown", intake=False)

    assert str(process_due()) == "intake stored 0, duplicates 1, retrying 0, failed 0"
    assert [m.external_id for m in messages()] == ["SMknown"]


def test_a_text_the_service_refuses_stays_in_the_inbox_with_the_reason(ctx, text_in):
    response = text_in("Hello", From="SHOPNEWS", intake=False)

    assert response.status_code == 200
    assert process_due().failed == 1
    [item] = db.session.scalars(select(InboxItem)).all()
    assert (item.processed_at, item.next_attempt_at) == (None, None)
    assert item.error == "InvalidInput: not a phone number in international format: 'SHOPNEWS'"
    assert messages() == []


def test_any_pool_number_of_a_registered_messaging_service_is_accepted(ctx, text_in):
    sms_service.add_number(messaging_service=SERVICE, stage="use")
    db.session.commit()

    text_in("First", To="+15550009001", MessagingServiceSid=SERVICE)
    text_in("Second", To="+15550009002", MessagingServiceSid=SERVICE)

    ticket = only_ticket()
    assert ticket.endpoint.address == SERVICE
    assert ticket.stage == Stage.USE
    assert [m.text for m in ticket.messages] == ["First", "Second"]


def test_a_pool_number_registered_on_its_own_keeps_its_own_endpoint(ctx, text_in):
    sms_service.add_number(messaging_service=SERVICE)
    sms_service.add_number(number=NUMBER, stage="purchase")
    db.session.commit()

    text_in("Hi", To=NUMBER, MessagingServiceSid=SERVICE)

    assert only_ticket().endpoint.address == NUMBER


def test_keyword_rules_and_default_stage_of_a_number(ctx, text_in):
    sms_service.add_number(number=NUMBER, stage="use", keywords={"order": "purchase"})
    db.session.commit()

    text_in("order 77 never came", From="+15550002001")
    text_in("The app crashes", From="+15550002002")

    db.session.expire_all()
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert [(t.stage, t.stage_reason) for t in tickets] == [
        (Stage.PURCHASE, "arrived at +15550001111, first word ORDER"),
        (Stage.USE, "default stage of +15550001111"),
    ]
    assert tickets[0].intake_rule == f"sms {NUMBER} ORDER"


def test_every_mms_item_is_recorded_at_once_and_fetched_by_the_worker(ctx, text_in, twilio):
    pictures = [("image/jpeg", b"\xff\xd8jpeg-bytes"), ("image/png", b"\x89PNG-bytes")]
    urls = [twilio.add_media(kind, data) for kind, data in pictures]
    form = {"NumMedia": "2"}
    for n, (url, (kind, _)) in enumerate(zip(urls, pictures, strict=True)):
        form |= {f"MediaUrl{n}": url, f"MediaContentType{n}": kind}

    text_in("", **form)

    [message] = messages()
    assert [(a.content_type, a.stored, a.source_url) for a in message.attachments] == [
        ("image/jpeg", False, urls[0]),
        ("image/png", False, urls[1]),
    ]
    assert twilio.requests == []

    summary = fetch_due()

    assert str(summary) == "media stored 2, retrying 0, failed 0"
    db.session.expire_all()
    from helpdesk.storage import blob_store

    assert [blob_store().get(a.storage_key) for a in message.attachments] == [
        data for _, data in pictures
    ]
    assert [a.size for a in message.attachments] == [len(data) for _, data in pictures]
    media_requests = [r for r in twilio.requests if "/Media/" in r.path]
    assert [r.auth for r in media_requests] == [(ACCOUNT_SID, AUTH_TOKEN)] * 2
    assert fetch_due().stored == 0  # nothing fetched twice


def test_the_ticket_page_shows_a_picture_still_being_fetched(client, login, text_in, twilio):
    url = twilio.add_media("image/gif", b"GIF89a")
    text_in("My receipt", NumMedia="1", MediaUrl0=url, MediaContentType0="image/gif")
    login()
    page = client.get(f"/tickets/{only_ticket().id}")
    assert page.status_code == 200
    assert "not fetched yet" in page.text
    fetch_due()
    assert "6 bytes" in client.get(f"/tickets/{only_ticket().id}").text


def test_media_fetch_retries_a_server_error_then_stores(ctx, text_in, twilio):
    url = twilio.add_media("image/gif", b"GIF89a")
    text_in("", NumMedia="1", MediaUrl0=url, MediaContentType0="image/gif")
    twilio.script("500")

    assert fetch_due().retrying == 1
    [item] = db.session.scalars(select(Attachment)).all()
    assert (item.stored, item.fetch_error) == (False, "500: Internal Server Error")

    assert fetch_due(now=utcnow() + timedelta(hours=2)).stored == 1
    db.session.expire_all()
    assert (item.stored, item.fetch_error, item.fetch_attempts) == (True, None, 2)


# --- conversations and customers --------------------------------------------------------------


def test_texts_join_the_open_ticket_and_a_solved_one_reopens(ctx, text_in, make_user):
    text_in("First")
    text_in("Second", From="+1 555 000 2000")  # the same number, written otherwise
    ticket = only_ticket()
    assert [(m.text, m.sender) for m in ticket.messages] == [
        ("First", CUSTOMER),
        ("Second", CUSTOMER),
    ]
    service.set_status(ticket, make_user(), TicketStatus.SOLVED)
    db.session.commit()

    text_in("Actually, one more thing")

    ticket = only_ticket()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.events[-1].kind == "reopened"


def test_a_text_after_the_ticket_was_closed_opens_a_linked_one(ctx, text_in, make_user):
    text_in("First")
    first = only_ticket()
    service.set_status(first, make_user(), TicketStatus.CLOSED)
    db.session.commit()

    text_in("New problem")

    db.session.expire_all()
    newest = db.session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    assert newest.id != first.id
    assert newest.previous_ticket_id == first.id


def test_a_customer_known_by_email_texting_from_their_number_is_the_same_customer(
    ctx, text_in, inbound
):
    ticket = service.receive(inbound(Channel.EMAIL, sender="ada@customer.test"))
    add_phone(ticket.ticket.customer, "+1 (555) 000-2000")
    db.session.commit()

    text_in("It's Ada, texting now")

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 1


def test_a_number_already_on_someone_else_is_not_moved(ctx, inbound):
    first = service.receive(inbound(Channel.SMS, sender=CUSTOMER)).ticket.customer
    other = service.receive(inbound(Channel.EMAIL, sender="bob@customer.test")).ticket.customer
    with pytest.raises(TicketError, match="already belongs"):
        add_phone(other, CUSTOMER)
    assert phone_identity(CUSTOMER).customer_id == first.id


# --- opt-out ----------------------------------------------------------------------------------


@pytest.fixture
def agent_api(client, make_user, make_token) -> Callable[..., object]:
    """Call the REST API as an agent: ``agent_api("post", "/tickets/1/replies", json=...)``."""
    headers = {"Authorization": f"Bearer {make_token(make_user())}"}

    def call(method: str, path: str, **kwargs):
        return getattr(client, method)(f"/api/v1{path}", headers=headers, **kwargs)

    return call


def test_stop_opts_out_and_replies_are_refused_with_the_reason(ctx, text_in, agent_api, twilio):
    text_in("My parcel is late")
    ticket_id = only_ticket().id

    text_in("STOP")

    identity = phone_identity(CUSTOMER)
    assert identity.opted_out_at is not None
    assert identity.opt_out_reason == "texted STOP"
    body = agent_api("get", f"/tickets/{ticket_id}").get_json()
    assert body["reply_blocked"].startswith(f"{CUSTOMER} opted out of text messages on ")
    assert "texted STOP" in body["reply_blocked"]
    assert body["customer"]["identities"][0]["opt_out_reason"] == "texted STOP"
    assert [e["kind"] for e in body["events"]][-1] == "sms-opt-out"
    assert body["messages"][-1]["text"] == "STOP"

    refused = agent_api("post", f"/tickets/{ticket_id}/replies", json={"text": "Sorry!"})

    assert refused.status_code == 422
    assert "opted out" in refused.get_json()["error"]["message"]
    assert twilio.sent() == []


def test_stop_on_a_solved_ticket_does_not_reopen_it(ctx, text_in, make_user):
    text_in("Thanks, all good")
    service.set_status(only_ticket(), make_user(), TicketStatus.SOLVED)
    db.session.commit()

    text_in("stopall")

    assert only_ticket().status == TicketStatus.SOLVED


def test_a_reply_queued_before_stop_is_never_sent(ctx, text_in, make_user, twilio):
    text_in("Hello?")
    reply = service.reply(only_ticket(), make_user(), "We are on it.")
    db.session.commit()
    text_in("UNSUBSCRIBE")

    assert run_due("w1").failed == 1

    assert twilio.sent() == []
    db.session.expire_all()
    assert (reply.delivery_state, reply.error_code) == (DeliveryState.FAILED, "opted-out")


def test_start_opts_back_in_and_help_is_recorded(ctx, text_in, make_user, twilio):
    text_in("Hi")
    text_in("QUIT")
    text_in("START")

    assert phone_identity(CUSTOMER).opted_out_at is None
    text_in("HELP")
    ticket = only_ticket()
    assert [e.kind for e in ticket.events if e.kind.startswith("sms-")] == [
        "sms-opt-out",
        "sms-opt-in",
        "sms-help",
    ]
    assert [m.text for m in ticket.messages] == ["Hi", "QUIT", "START", "HELP"]

    service.reply(ticket, make_user(), "Welcome back.")
    db.session.commit()
    assert run_due("w1").sent == 1


def test_error_21610_on_sending_opts_the_number_out(ctx, text_in, make_user, twilio):
    text_in("Hi")
    reply = service.reply(only_ticket(), make_user(), "Hello!")
    db.session.commit()
    twilio.script("21610")

    assert run_due("w1").failed == 1

    db.session.expire_all()
    assert (reply.delivery_state, reply.error_code) == (DeliveryState.FAILED, "21610")
    identity = phone_identity(CUSTOMER)
    assert identity.opted_out_at is not None
    assert "21610" in identity.opt_out_reason
    assert service.reply_block(reply.ticket)


# --- outbound ---------------------------------------------------------------------------------


def test_reply_is_sent_through_twilio_with_a_status_callback(ctx, text_in, make_user, twilio):
    text_in("Hi")
    reply = service.reply(only_ticket(), make_user(), "Your parcel ships today.")
    db.session.commit()

    assert run_due("w1").sent == 1

    [form] = twilio.sent()
    assert (form["To"], form["From"], form["Body"]) == (
        CUSTOMER,
        NUMBER,
        "Your parcel ships today.",
    )
    assert form["StatusCallback"] == f"{PUBLIC_URL}/webhooks/twilio/status?message={reply.id}"
    [request] = twilio.requests
    assert request.auth == (ACCOUNT_SID, AUTH_TOKEN)
    db.session.expire_all()
    assert reply.delivery_state == DeliveryState.SENT
    assert reply.external_id == twilio.created[0]["sid"]


def test_a_reply_with_a_picture_goes_as_mms_from_a_signed_link(
    ctx, client, text_in, make_user, twilio
):
    text_in("Which grinder is it?")
    picture = InboundAttachment("grinder.png", "image/png", b"\x89PNG grinder")
    service.reply(only_ticket(), make_user(), "This one.", attachments=[picture])
    db.session.commit()

    assert run_due("w1").sent == 1
    [form] = twilio.sent()
    assert form["MediaUrl"].startswith(f"{PUBLIC_URL}/files/")
    # Twilio fetches it without a login; the bytes are the agent's file.
    fetched = client.get(form["MediaUrl"].removeprefix(PUBLIC_URL))
    assert (fetched.status_code, fetched.data) == (200, b"\x89PNG grinder")


def test_files_over_five_megabytes_are_refused_for_a_text(ctx, text_in, make_user, twilio):
    text_in("Send me the manual")
    manual = InboundAttachment("manual.pdf", "application/pdf", b"x" * (5 * 1024 * 1024 + 1))
    with pytest.raises(TicketError, match="a text message reply can carry at most 5 MB"):
        service.reply(only_ticket(), make_user(), "Here it is.", attachments=[manual])


def test_reply_on_a_messaging_service_goes_out_through_the_service(ctx, text_in, make_user, twilio):
    text_in("Hi", To="+15550009001", MessagingServiceSid=SERVICE)
    service.reply(only_ticket(), make_user(), "Hello from the pool.")
    db.session.commit()

    run_due("w1")

    [form] = twilio.sent()
    assert form["MessagingServiceSid"] == SERVICE
    assert "From" not in form


@pytest.mark.parametrize("error", ["429", "500", "503"])
def test_rate_limits_and_server_errors_are_retried_and_sent_once(
    ctx, text_in, make_user, twilio, error
):
    text_in("Hi")
    reply = service.reply(only_ticket(), make_user(), "Hello!")
    db.session.commit()
    twilio.script(error)
    start = utcnow()

    assert run_due("w1", now=start).retrying == 1
    assert run_due("w1", now=start + timedelta(seconds=1)).total == 0  # backing off
    assert run_due("w1", now=start + timedelta(hours=1)).sent == 1
    assert run_due("w1", now=start + timedelta(hours=2)).total == 0

    assert len(twilio.sent()) == 2
    assert len(twilio.created) == 1  # one text reached the customer
    db.session.expire_all()
    assert [a.outcome for a in reply.attempts] == ["retry", "sent"]
    assert reply.attempts[0].error_code == str(twilio_standin.ERRORS[error][1])


def test_other_twilio_errors_fail_permanently_with_their_code(ctx, text_in, make_user, twilio):
    text_in("Hi")
    reply = service.reply(only_ticket(), make_user(), "Hello!")
    db.session.commit()
    twilio.script("21211")

    assert run_due("w1").failed == 1

    db.session.expire_all()
    assert (reply.error_code, reply.error_text) == (
        "21211",
        "Unable to create record: Invalid 'To' Phone Number",
    )
    assert phone_identity(CUSTOMER).opted_out_at is None


def test_an_unreachable_twilio_is_retried(ctx, app, text_in, make_user, twilio, monkeypatch):
    text_in("Hi")
    reply = service.reply(only_ticket(), make_user(), "Hello!")
    db.session.commit()
    monkeypatch.setitem(app.config, "TWILIO_API_URL", "http://127.0.0.1:9")  # discard port
    app.extensions["helpdesk.adapters"].register(twilio_adapter(app.config))

    assert run_due("w1").retrying == 1
    db.session.expire_all()
    assert reply.error_code == "unreachable"


def test_a_reply_over_1600_characters_is_refused_before_queueing(ctx, text_in, agent_api, twilio):
    text_in("Hi")
    ticket_id = only_ticket().id

    response = agent_api("post", f"/tickets/{ticket_id}/replies", json={"text": "x" * 1601})

    assert response.status_code == 422
    assert response.get_json()["error"]["message"].startswith(
        "a text message reply can hold at most 1,600 characters; this one has 1,601"
    )
    assert (
        agent_api("post", f"/tickets/{ticket_id}/replies", json={"text": "x" * 1600}).status_code
        == 201
    )
    assert [m.direction.value for m in messages()] == ["inbound", "outbound"]


# --- delivery statuses ------------------------------------------------------------------------


@pytest.fixture
def sent_reply(ctx, text_in, make_user, twilio) -> Message:
    text_in("Hi")
    reply = service.reply(only_ticket(), make_user(), "Hello!")
    db.session.commit()
    run_due("w1")
    db.session.expire_all()
    return reply


def status_form(sid: str, status: str, **fields: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": CUSTOMER,
        "From": NUMBER,
        "ApiVersion": "2010-04-01",
        **fields,
    }


def test_status_callbacks_move_the_reply_to_delivered_and_never_back(ctx, client, sent_reply):
    sid, query = sent_reply.external_id, f"message={sent_reply.id}"

    assert status_in(client, status_form(sid, "sent"), query).status_code == 204
    assert status_in(client, status_form(sid, "delivered"), query).status_code == 204
    assert status_in(client, status_form(sid, "sent"), query).status_code == 204  # late

    db.session.expire_all()
    assert sent_reply.delivery_state == DeliveryState.DELIVERED


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_undelivered_and_failed_become_failed_with_twilios_code(ctx, client, sent_reply, status):
    form = status_form(sent_reply.external_id, status, ErrorCode="30003")

    status_in(client, form, f"message={sent_reply.id}")

    db.session.expire_all()
    assert (sent_reply.delivery_state, sent_reply.error_code) == (DeliveryState.FAILED, "30003")
    assert sent_reply.error_text == f"Twilio reports the message {status}"


def test_a_status_without_our_reference_is_found_by_message_sid(ctx, client, sent_reply):
    status_in(client, status_form(sent_reply.external_id, "delivered"))

    db.session.expire_all()
    assert sent_reply.delivery_state == DeliveryState.DELIVERED


def test_a_status_that_beats_the_worker_is_kept(ctx, client, text_in, make_user, twilio):
    from helpdesk import outbox

    text_in("Hi")
    reply = service.reply(only_ticket(), make_user(), "Hello!")
    db.session.commit()
    [claim] = outbox.claim_due("w1")
    answer = outbox.send(claim)
    # Twilio's callback arrives before the worker has recorded the provider id.
    status_in(client, status_form(answer.provider_id, "delivered"), f"message={reply.id}")
    outbox.record(claim, answer)

    db.session.expire_all()
    assert (reply.delivery_state, reply.external_id) == (
        DeliveryState.DELIVERED,
        answer.provider_id,
    )


def test_unsigned_status_callbacks_are_refused(ctx, client, sent_reply):
    form = status_form(sent_reply.external_id, "failed", ErrorCode="30007")

    response = client.post(f"/webhooks/twilio/status?message={sent_reply.id}", data=form)

    assert response.status_code == 403
    db.session.expire_all()
    assert sent_reply.delivery_state == DeliveryState.SENT


# --- numbers (CLI and service) ----------------------------------------------------------------


def test_cli_adds_lists_and_removes_numbers(ctx, runner):
    added = runner.invoke(
        args=[
            "sms",
            "add-number",
            "--number",
            "+1 555 000 1111",
            "--stage",
            "use",
            "--keyword",
            "ORDER=purchase",
            "--keyword",
            "club=cultivation",
        ]
    )
    service_added = runner.invoke(
        args=["sms", "add-number", "--messaging-service", SERVICE, "--stage", "purchase"]
    )
    bad_keyword = runner.invoke(
        args=["sms", "add-number", "--number", NUMBER, "--keyword", "ORDER"]
    )
    bad_number = runner.invoke(args=["sms", "add-number", "--number", "12"])
    listed = runner.invoke(args=["sms", "list"])

    assert added.exit_code == 0, added.output
    assert "Registered +15550001111 (default stage use)" in added.output
    assert "webhooks/twilio/sms" in added.output
    assert service_added.exit_code == 0, service_added.output
    assert bad_keyword.exit_code == 2 and "WORD=STAGE" in bad_keyword.output
    assert bad_number.exit_code == 2 and "not a phone number" in bad_number.output
    lines = listed.output.splitlines()
    assert lines[0].startswith("+15550001111") and "ORDER=purchase CLUB=cultivation" in lines[0]
    assert lines[1].startswith(SERVICE) and "stage=purchase" in lines[1]

    removed = runner.invoke(args=["sms", "remove-number", "+15550001111"])
    assert removed.exit_code == 0, removed.output
    assert [n.address for n in sms_service.list_numbers()] == [SERVICE]
    assert runner.invoke(args=["sms", "remove-number", NUMBER]).exit_code == 1
    assert "sms +15550001111" not in runner.invoke(args=["stages", "list"]).output


def test_removing_a_number_with_tickets_keeps_them(ctx, text_in):
    sms_service.add_number(number=NUMBER, stage="use", keywords={"ORDER": "purchase"})
    db.session.commit()
    text_in("Hi")

    sms_service.remove_number(NUMBER)
    db.session.commit()

    [number] = sms_service.list_numbers()
    assert (number.registered, number.default_stage, number.keywords, number.tickets) == (
        False,
        None,
        (),
        1,
    )


def test_worker_once_takes_in_texts_fetches_media_and_sends_replies(ctx, runner, text_in, twilio):
    url = twilio.add_media("image/jpeg", b"\xff\xd8photo")
    text_in(
        "Photo attached", intake=False, NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg"
    )

    result = runner.invoke(args=["worker", "--once", "--name", "w1"])

    assert result.exit_code == 0, result.output
    ticket = only_ticket()
    [message] = ticket.messages
    assert [(a.filename, a.stored) for a in message.attachments] == [
        (url.rsplit("/", 1)[1] + ".jpg", True)
    ]


def test_a_signature_over_the_url_with_its_default_port_is_accepted(ctx, client, twilio):
    form = sms_form("Hello")
    signed = RequestValidator(AUTH_TOKEN).compute_signature(
        "http://helpdesk.test:80/webhooks/twilio/sms", form
    )

    response = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signed}
    )

    assert response.status_code == 200
