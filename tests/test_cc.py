"""Cc on email tickets: the people a customer's mail also went to stay on the conversation."""

from __future__ import annotations

from email import message_from_bytes, policy

from mail_samples import mail
from mail_servers import sending_mailbox

from channels.email.parse import parse_email
from helpdesk.extensions import db
from helpdesk.models import Ticket
from helpdesk.outbox import run_due
from helpdesk.tickets import service

CUSTOMER = "ada@customer.test"


def copied_mail(**fields) -> object:
    raw = mail(
        to="Support <support@shop.test>, Bo Boss <bo@customer.test>",
        headers={"Cc": "carl@customer.test, support@shop.test, ada@customer.test"},
        **fields,
    )
    return parse_email(raw, endpoint="support@shop.test").message


def ticket_of(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def test_the_people_a_mail_also_went_to_are_kept_on_its_ticket(ctx):
    msg = copied_mail()
    assert msg.cc == ("bo@customer.test", "carl@customer.test")  # not us, not the sender

    ticket = service.receive(msg).ticket
    db.session.commit()
    assert ticket_of(ticket.id).cc == ["bo@customer.test", "carl@customer.test"]
    assert [e.to_value for e in ticket_of(ticket.id).events if e.kind == "cc"] == [
        "bo@customer.test, carl@customer.test"
    ]


def test_a_reply_copies_them_and_they_can_answer_on_the_ticket(ctx, smtp_sink, make_user):
    sending_mailbox(smtp_sink)
    ticket = service.receive(copied_mail(subject="Invoice")).ticket
    reply = service.reply(ticket, make_user(), "Here is your invoice.")
    db.session.commit()
    assert reply.cc == ["bo@customer.test", "carl@customer.test"]

    assert str(run_due("w1")) == "sent 1, retrying 0, failed 0"
    [envelope] = smtp_sink.received
    assert envelope.rcpt_tos == [CUSTOMER, "bo@customer.test", "carl@customer.test"]
    sent = message_from_bytes(envelope.content, policy=policy.default)
    assert sent["Cc"] == "bo@customer.test, carl@customer.test"

    # Bo answers with the ticket number in the subject only (no In-Reply-To): a participant.
    answer = mail(
        sender="bo@customer.test", subject=f"Re: Invoice [#{ticket.number}]", body="Thanks!"
    )
    landed = service.receive(parse_email(answer, endpoint="support@shop.test").message)
    assert landed.ticket_id == ticket.id


def test_an_agent_takes_someone_off_and_a_newer_addition_stays(client, login, setup):
    login()
    with setup():
        ticket_id = service.receive(copied_mail(message_id="<first@customer.test>")).ticket_id
    page = client.get(f"/tickets/{ticket_id}").text
    assert 'value="bo@customer.test, carl@customer.test"' in page

    # Meanwhile the customer writes again, copying Dee as well.
    with setup():
        service.receive(
            parse_email(
                mail(
                    subject="Re: more",
                    headers={"Cc": "dee@customer.test", "In-Reply-To": "<first@customer.test>"},
                ),
                endpoint="support@shop.test",
            ).message
        )
    sent = client.post(
        f"/tickets/{ticket_id}/messages",
        data={
            "text": "Done.",
            "reply": "1",
            "cc": "bo@customer.test",  # Carl taken off
            "cc_shown": "bo@customer.test, carl@customer.test",
            "confirm": "1",
        },
    )
    assert sent.status_code == 302
    with setup():
        ticket = ticket_of(ticket_id)
        assert ticket.cc == ["bo@customer.test", "dee@customer.test"]
        assert ticket.messages[-1].cc == ["bo@customer.test", "dee@customer.test"]


def test_the_api_shows_and_sets_the_cc(client, setup, make_user, make_token):
    with setup():
        headers = {"Authorization": f"Bearer {make_token(make_user())}"}
        ticket_id = service.receive(copied_mail()).ticket_id
    shown = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert shown["cc"] == ["bo@customer.test", "carl@customer.test"]

    reply = client.post(
        f"/api/v1/tickets/{ticket_id}/replies", json={"text": "Hi", "cc": []}, headers=headers
    )
    assert reply.status_code == 201
    with setup():
        ticket = ticket_of(ticket_id)
        assert (ticket.cc, ticket.messages[-1].cc) == ([], [])
    refused = client.post(
        f"/api/v1/tickets/{ticket_id}/replies",
        json={"text": "Hi", "cc": ["nobody"]},
        headers=headers,
    )
    assert refused.status_code == 422


def test_an_address_that_is_none_is_refused_next_to_the_cc_box(client, login, setup):
    login()
    with setup():
        ticket_id = service.receive(copied_mail()).ticket_id
    page = client.post(
        f"/tickets/{ticket_id}/messages",
        data={"text": "Done.", "reply": "1", "cc": "bo@customer.test, nobody", "cc_shown": ""},
    )
    assert page.status_code == 400
    assert 'id="cc-error">not an email address: &#39;nobody&#39;' in page.text
    assert 'value="bo@customer.test, nobody"' in page.text  # what was typed stays to correct
    assert "Done." in page.text
    with setup():
        assert len(ticket_of(ticket_id).messages) == 1


def test_a_ticket_opened_in_an_intake_batch_keeps_its_mails_cc(ctx, inbound):
    """Before its flush such a ticket had no Cc list: the batch failed on it and was taken again
    mail by mail (found by bench/fuzz.py)."""
    msg = inbound(cc=("bob@customer.test",))
    with service.intake_batch([msg]):
        taken = service.take(msg)
    db.session.flush()
    assert taken.message.ticket.cc == ["bob@customer.test"]
