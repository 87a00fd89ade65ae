"""Replies leave by SMTP (a real aiosmtpd server) with the right headers, retried when it fails."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from mail_servers import running_sink, sending_mailbox
from sqlalchemy import select

from channels.base import InboundAttachment
from helpdesk.extensions import db
from helpdesk.mail.mailboxes import update_mailbox
from helpdesk.models import DeliveryState, Message, utcnow
from helpdesk.outbox import run_due
from helpdesk.tickets import service


@pytest.fixture
def smtp_mailbox(ctx, smtp_sink):
    """A mailbox whose replies go to the test's SMTP sink (its IMAP side is never read here)."""
    return sending_mailbox(smtp_sink)


@pytest.fixture
def reply(smtp_mailbox, inbound, make_user):
    """Receive a customer's mail and queue an agent's reply with an attachment; commits."""
    ticket = service.receive(
        inbound(external_id="<q1@customer.test>", sender="ada@customer.test", subject="Parcel")
    ).ticket
    message = service.reply(
        ticket,
        make_user(),
        "It left today.\n\nTracking: 42",
        attachments=[InboundAttachment("label.pdf", "application/pdf", b"%PDF-1.7 label")],
    )
    db.session.commit()
    return message


def sent_mail(sink) -> object:
    [envelope] = sink.received
    return envelope, message_from_bytes(envelope.content, policy=policy.default)


def test_reply_goes_out_with_threading_headers_alternatives_and_attachment(reply, smtp_sink):
    assert str(run_due("w1")) == "sent 1, retrying 0, failed 0"

    envelope, mime = sent_mail(smtp_sink)
    assert envelope.mail_from == "support@shop.test"  # bounces come back to the mailbox
    assert envelope.rcpt_tos == ["ada@customer.test"]
    assert mime["From"] == "support@shop.test"
    assert mime["Reply-To"] == "support@shop.test"
    assert mime["Message-ID"] == reply.external_id
    assert mime["In-Reply-To"] == "<q1@customer.test>"
    assert mime["References"] == "<q1@customer.test>"
    assert mime["Subject"] == f"Re: Parcel [#{reply.ticket.number}]"
    assert mime["Auto-Submitted"] is None
    plain = mime.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.strip() == "It left today.\n\nTracking: 42"
    assert "<p>It left today.</p>" in mime.get_body(("html",)).get_content()
    [attachment] = list(mime.iter_attachments())
    assert attachment.get_filename() == "label.pdf"
    assert attachment.get_content() == b"%PDF-1.7 label"
    assert reply.delivery_state == DeliveryState.SENT


def test_a_reply_to_an_idn_domain_goes_out_in_punycode(smtp_mailbox, smtp_sink, inbound, make_user):
    ticket = service.receive(inbound(sender="jörg@bücher.example")).ticket
    service.reply(ticket, make_user(), "Your parcel left today.")
    db.session.commit()

    assert str(run_due("w1")) == "sent 1, retrying 0, failed 0"
    envelope, mime = sent_mail(smtp_sink)
    assert envelope.rcpt_tos == ["jörg@xn--bcher-kva.example"]
    assert mime["To"] == "jörg@xn--bcher-kva.example"


# A connection lost while the mail was handed over is retried only once: tests/test_outages.py.
@pytest.mark.parametrize("failure", ["451 4.3.0 try again later", "421 4.7.0 too busy, later"])
def test_temporary_failure_is_retried_with_backoff_and_sent_once(reply, smtp_sink, failure):
    smtp_sink.fail_next(failure, times=2)

    assert run_due("w1").retrying == 1, reply.error_text
    [attempt] = reply.attempts
    assert attempt.outcome == "retry"
    first_retry = reply.next_attempt_at
    assert first_retry > utcnow()
    assert run_due("w1").total == 0  # not due yet

    assert run_due("w1", now=first_retry + timedelta(seconds=1)).retrying == 1
    assert reply.next_attempt_at - first_retry > timedelta(seconds=10)  # backing off
    assert run_due("w1", now=reply.next_attempt_at + timedelta(seconds=1)).sent == 1

    assert len(smtp_sink.received) == 1
    assert reply.delivery_state == DeliveryState.SENT
    assert [a.outcome for a in reply.attempts] == ["retry", "retry", "sent"]
    assert run_due("w1", now=utcnow() + timedelta(days=1)).total == 0


def test_permanent_failure_marks_the_reply_failed_with_the_servers_answer(reply, smtp_sink):
    smtp_sink.fail_next("550 5.1.1 mailbox unavailable")
    assert run_due("w1").failed == 1
    assert reply.delivery_state == DeliveryState.FAILED
    assert (reply.error_code, reply.error_text) == ("550", "5.1.1 mailbox unavailable")
    assert smtp_sink.received == []


@pytest.mark.parametrize(
    "answer",
    [
        "530 5.7.0 Authentication required",
        "534 5.7.9 Authentication mechanism is too weak",
        "535 5.7.8 Authentication credentials invalid",
    ],
)
def test_an_answer_that_means_the_settings_are_wrong_keeps_the_reply_queued(
    reply, smtp_sink, answer
):
    smtp_sink.fail_next(answer)

    assert run_due("w1").retrying == 1
    code, _, words = answer.partition(" ")
    assert (reply.error_code, reply.error_text) == (code, words)  # shown on the ticket
    assert reply.delivery_state == DeliveryState.QUEUED

    assert run_due("w1", now=reply.next_attempt_at + timedelta(seconds=1)).sent == 1
    assert len(smtp_sink.received) == 1


def test_settings_mistakes_still_end_in_failed_after_the_attempt_limit(
    app, reply, smtp_sink, monkeypatch
):
    monkeypatch.setitem(app.config, "HELPDESK_MAX_SEND_ATTEMPTS", 2)
    smtp_sink.fail_next("535 5.7.8 Authentication credentials invalid", times=2)

    assert run_due("w1").retrying == 1
    assert run_due("w1", now=reply.next_attempt_at + timedelta(seconds=1)).failed == 1
    assert reply.delivery_state == DeliveryState.FAILED
    assert reply.error_code == "535"


@pytest.fixture
def smtp_auth_sink():
    """A sink that takes mail only from the user "support" with the password "right one"."""

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        accepted = auth_data == LoginPassword(b"support", b"right one")
        return AuthResult(success=accepted, handled=False)

    with running_sink(authenticator=authenticate, auth_require_tls=False) as sink:
        yield sink


def test_a_refused_smtp_password_keeps_the_reply_until_an_admin_enters_the_right_one(
    ctx, smtp_auth_sink, inbound, make_user
):
    mailbox = sending_mailbox(smtp_auth_sink, smtp_user="support", smtp_password="wrong one")
    ticket = service.receive(inbound(sender="ada@customer.test")).ticket
    reply = service.reply(ticket, make_user(), "It left today.")
    db.session.commit()

    assert run_due("w1").retrying == 1
    assert reply.error_code == "535"
    assert "Authentication" in reply.error_text
    assert reply.delivery_state == DeliveryState.QUEUED

    update_mailbox(mailbox, smtp_password="right one")
    db.session.commit()
    assert run_due("w1", now=reply.next_attempt_at + timedelta(seconds=1)).sent == 1
    assert len(smtp_auth_sink.received) == 1


def test_acknowledgement_is_marked_auto_submitted(smtp_mailbox, smtp_sink, inbound):
    ticket = service.receive(inbound(sender="ada@customer.test")).ticket
    service.send_automatic(ticket, "ada@customer.test", f"Your ticket is #{ticket.number}.")
    db.session.commit()
    run_due("w1")
    _, mime = sent_mail(smtp_sink)
    assert mime["Auto-Submitted"] == "auto-replied"
    assert mime["X-Auto-Response-Suppress"] == "All"
    assert f"[#{ticket.number}]" in mime["Subject"]


def test_a_reply_from_an_address_without_smtp_fails_with_a_clear_error(ctx, inbound, make_user):
    ticket = service.receive(inbound(endpoint="nobody-set-this-up@shop.test")).ticket
    service.reply(ticket, make_user(), "Hello")
    db.session.commit()
    assert run_due("w1").failed == 1
    message = db.session.scalar(select(Message).where(Message.direction == "outbound"))
    assert message.error_code == "no-smtp"
    assert "nobody-set-this-up@shop.test" in message.error_text
