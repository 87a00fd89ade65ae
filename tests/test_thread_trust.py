"""Threading you can trust: our Message-IDs are signed, and mail from someone not on a ticket
that threads onto it by Message-ID is kept there, marked, and never answered in the
customer's place."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from live_browser import log_in
from mail_samples import mail
from mail_servers import sending_mailbox
from playwright.sync_api import expect
from sqlalchemy import select

from channels.email.parse import parse_email
from helpdesk.extensions import db
from helpdesk.models import ChatEvent, Customer, Message, Ticket
from helpdesk.outbox import run_due
from helpdesk.privacy import erase_customer
from helpdesk.tickets import service
from helpdesk.tickets.message_ids import forged, new_message_id, proven_ticket_number

CUSTOMER = "ada@customer.test"
STRANGER = "mallory@elsewhere.test"


def received(raw: bytes) -> Message:
    return service.receive(parse_email(raw, endpoint="support@shop.test").message)


def answered(ticket: Ticket, make_user) -> Message:
    """An agent's reply on the ticket, as queued: its Message-ID is what mail clients quote."""
    reply = service.reply(ticket, make_user(), "Could you send a photo of the parcel label?")
    db.session.commit()
    return reply


def tampered(message_id: str) -> str:
    """The id with the last character of its signature changed."""
    local, at, host = message_id.partition("@")
    changed = "b" if local[-1] != "b" else "c"
    return f"{local[:-1]}{changed}{at}{host}"


# --- signed Message-IDs ------------------------------------------------------------------------


def test_our_message_ids_are_signed_and_name_their_ticket(ctx, app, monkeypatch):
    message_id = new_message_id(42, "helpdesk.test")
    assert message_id.startswith("<t42.") and message_id.endswith("@helpdesk.test>")
    assert proven_ticket_number(message_id) == 42
    # Mail software may change the case of an id, or the public host may change: still ours.
    assert proven_ticket_number(message_id.upper()) == 42
    assert proven_ticket_number(message_id.replace("helpdesk.test", "support.example")) == 42
    assert not forged(message_id)

    # Another install (another SECRET_KEY) cannot make ids this one takes for its own.
    monkeypatch.setitem(app.config, "SECRET_KEY", "someone else's key")
    assert proven_ticket_number(message_id) is None
    assert forged(message_id)


def test_a_tampered_id_is_told_from_ours_and_other_ids_are_neither(ctx):
    genuine = new_message_id(7, "helpdesk.test")
    local, _, host = genuine.partition("@")
    other_ticket = genuine.replace("<t7.", "<t8.")
    bad_signature = f"{local.rpartition('.')[0]}.{'a' * 16}@{host}"
    for fake in (other_ticket, bad_signature):
        assert forged(fake)
        assert proven_ticket_number(fake) is None
    for foreign in ("<0f3a9c@helpdesk.test>", "<t7.abc@customer.test>", "t7", ""):
        assert not forged(foreign)
        assert proven_ticket_number(foreign) is None


def test_a_reply_goes_out_under_a_signed_id_that_threads_its_answer(ctx, smtp_sink, make_user):
    sending_mailbox(smtp_sink)
    ticket = received(mail(subject="Where is my parcel?")).ticket
    reply = answered(ticket, make_user)
    assert proven_ticket_number(reply.external_id) == ticket.number

    assert str(run_due("w1")) == "sent 1, retrying 0, failed 0"
    sent = message_from_bytes(smtp_sink.received[0].content, policy=policy.default)
    # One unfolded line: some mail software mishandles a folded Message-ID.
    assert f"Message-ID: {reply.external_id}\r\n" in smtp_sink.received[0].content.decode()
    answer = received(
        mail(subject="Re: parcel", body="Here it is.", headers={"In-Reply-To": sent["Message-ID"]})
    )
    assert answer.ticket_id == ticket.id
    assert answer.thread_reason == f"reply to message {reply.external_id}"
    assert not answer.from_outsider


def test_a_signed_id_the_store_lost_still_threads(ctx, make_user):
    # As after restoring a backup taken before the reply was sent.
    ticket = received(mail()).ticket
    reply = answered(ticket, make_user)
    ours, reply.external_id = reply.external_id, None
    db.session.commit()

    answer = received(mail(subject="Re: parcel", headers={"In-Reply-To": ours}))
    assert answer.ticket_id == ticket.id
    assert answer.thread_reason == f"reply to our message {ours}, proven by its signature"


def test_a_forged_id_of_a_ticket_threads_nowhere_and_says_so(ctx, make_user):
    ticket = received(mail()).ticket
    reply = answered(ticket, make_user)
    fake = tampered(reply.external_id)
    assert forged(fake)

    answer = received(mail(sender=STRANGER, subject="Re: parcel", headers={"In-Reply-To": fake}))
    assert answer.ticket_id != ticket.id
    assert answer.thread_reason == (
        f"new request; it names {fake}, made to look like one of our Message-IDs but not "
        "signed by us"
    )


def test_ids_made_before_signing_still_thread(ctx, make_user):
    ticket = received(mail()).ticket
    reply = answered(ticket, make_user)
    reply.external_id = "<5f0c3d2b9e8a4f7c8d1e2f3a4b5c6d7e@helpdesk.test>"  # the old shape
    db.session.commit()

    answer = received(mail(subject="Re: parcel", headers={"In-Reply-To": reply.external_id}))
    assert answer.ticket_id == ticket.id
    assert not answer.from_outsider


def test_an_erased_customers_ticket_is_not_found_by_signature_either(ctx, make_user):
    ticket = received(mail()).ticket
    ours = answered(ticket, make_user).external_id
    erase_customer(db.session.get(Customer, ticket.customer_id))
    db.session.commit()

    answer = received(mail(subject="Re: parcel", headers={"In-Reply-To": ours}))
    assert answer.ticket_id != ticket.id


# --- mail from someone not on the ticket -------------------------------------------------------


def test_a_stranger_answering_our_mail_is_kept_on_the_ticket_but_marked(ctx, make_user):
    ticket = received(mail()).ticket
    ours = answered(ticket, make_user).external_id

    answer = received(
        mail(
            sender=STRANGER,
            subject="Re: parcel",
            body="I have your parcel.",
            headers={"In-Reply-To": ours, "Cc": "accomplice@elsewhere.test"},
        )
    )
    db.session.commit()
    assert answer.ticket_id == ticket.id
    assert answer.from_outsider
    assert answer.thread_reason == (
        f"reply to message {ours}; from {STRANGER}, who is not on the ticket"
    )
    # Nobody is brought onto the ticket by them, and the reply still goes to the customer.
    assert ticket.cc == []
    assert service.reply(ticket, make_user(), "Thanks, Ada.").recipient == CUSTOMER

    # Their next mail is no more theirs to add than the first.
    again = received(mail(sender=STRANGER, subject="Re: parcel", headers={"In-Reply-To": ours}))
    assert again.from_outsider


def test_the_customer_a_cc_and_an_agent_are_on_the_ticket(ctx, make_user):
    ticket = received(mail(headers={"Cc": "bo@customer.test"})).ticket
    ours = answered(ticket, make_user).external_id
    make_user(email="ben@helpdesk.test")

    for sender in (CUSTOMER, "Bo@Customer.test", "ben@helpdesk.test"):
        answer = received(mail(sender=sender, subject="Re: x", headers={"In-Reply-To": ours}))
        assert answer.ticket_id == ticket.id
        assert not answer.from_outsider, sender


def test_the_ticket_page_shows_who_wrote_and_the_agent_may_copy_them(
    client, login, setup, make_user
):
    login()
    with setup():
        ticket = received(mail()).ticket
        ours = answered(ticket, make_user).external_id
        outsider = received(mail(sender=STRANGER, subject="Re: x", headers={"In-Reply-To": ours}))
        ticket_id, message_id = ticket.id, outsider.id

    page = client.get(f"/tickets/{ticket_id}").text
    assert "Email from someone not on this ticket" in page
    assert f"<b>From someone not on this ticket:</b> {STRANGER}" in page
    assert f"Add {STRANGER} to Cc" in page

    added = client.post(f"/tickets/{ticket_id}/messages/{message_id}/copy-sender")
    assert added.status_code == 302
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.cc == [STRANGER]
        assert ticket.events[-1].kind == "cc"
        later = received(mail(sender=STRANGER, subject="Re: x", headers={"In-Reply-To": ours}))
        assert not later.from_outsider
    page = client.get(f"/tickets/{ticket_id}").text
    assert "Since added to the Cc" in page


def test_only_a_mail_from_outside_offers_its_sender_as_cc(client, login, setup):
    login()
    with setup():
        message = received(mail())
        ticket_id, message_id = message.ticket_id, message.id
    refused = client.post(f"/tickets/{ticket_id}/messages/{message_id}/copy-sender")
    assert refused.status_code == 302
    assert "no mail from outside" in client.get(f"/tickets/{ticket_id}").text
    with setup():
        assert db.session.get(Ticket, ticket_id).cc == []


def test_the_api_shows_the_mark(client, setup, make_user, make_token):
    with setup():
        headers = {"Authorization": f"Bearer {make_token(make_user())}"}
        ticket = received(mail()).ticket
        ours = answered(ticket, make_user).external_id
        received(mail(sender=STRANGER, subject="Re: x", headers={"In-Reply-To": ours}))
        ticket_id = ticket.id
    shown = client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=headers).get_json()
    marks = [
        (m["sender"], m["from_outsider"]) for m in shown["items"] if m["direction"] == "inbound"
    ]
    assert marks == [(CUSTOMER, False), (STRANGER, True)]


def test_the_live_ticket_page_names_the_outsider(ctx, make_user):
    ticket = received(mail()).ticket
    ours = answered(ticket, make_user).external_id
    received(mail(sender=STRANGER, subject="Re: x", headers={"In-Reply-To": ours}))
    db.session.commit()

    [event] = [
        e.data
        for e in db.session.scalars(select(ChatEvent).where(ChatEvent.ticket_id == ticket.id))
        if e.data.get("outsider")
    ]
    assert event["name"] == STRANGER


@pytest.mark.once
def test_in_the_browser_the_agent_sees_the_outsider_and_copies_them(
    page, live_url, setup, make_user, inbound
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
        ticket = received(mail()).ticket
        ours = answered(ticket, make_user).external_id
        received(
            mail(sender=STRANGER, subject="Re: x", body="I found it", headers={"In-Reply-To": ours})
        )
        ticket_id = ticket.id
    log_in(page, live_url, "ada@helpdesk.test")

    page.goto(f"{live_url}/tickets/{ticket_id}")
    outsider = page.locator(".msg-outsider")
    expect(outsider).to_have_count(1)
    expect(outsider.get_by_role("note")).to_contain_text(
        f"From someone not on this ticket: {STRANGER}"
    )
    outsider.get_by_role("button", name=f"Add {STRANGER} to Cc").click()
    expect(page.locator(".flash")).to_contain_text(f"{STRANGER} is on the Cc now")
    expect(page.get_by_label("Cc")).to_have_value(STRANGER)
