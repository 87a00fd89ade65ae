"""Mail over TLS against the real servers: STARTTLS and implicit TLS, certificates verified.

The servers' certificate comes from a CA made for this run, which no system trusts: the mail
flows only once HELPDESK_MAIL_CA_FILE names it, and is refused (and kept) while it does not.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from mail_samples import mail
from mail_servers import sending_mailbox
from sqlalchemy import func, select

from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.mail.intake import fetch_mailbox
from helpdesk.models import DeliveryState, Message, Ticket
from helpdesk.outbox import run_due
from helpdesk.tickets import service

UNTRUSTED = "TLS certificate refused: unable to get local issuer certificate"


@pytest.fixture
def trusted_ca(app, mail_certificate, monkeypatch):
    """Trust the test CA as an in-house CA; ``trusted_ca(False)`` distrusts it again."""

    def trust(trusted: bool = True) -> None:
        ca_file = str(mail_certificate.ca_file) if trusted else None
        monkeypatch.setitem(app.config, "HELPDESK_MAIL_CA_FILE", ca_file)

    return trust


def test_a_ca_file_that_is_not_there_stops_the_start(monkeypatch, tmp_path):
    monkeypatch.setenv("HELPDESK_MAIL_CA_FILE", str(tmp_path / "in-house-ca.pem"))
    with pytest.raises(ValueError, match="HELPDESK_MAIL_CA_FILE names no file"):
        create_app({"TESTING": True})


def imap_port(dovecot, security: str) -> int:
    return dovecot.tls_port if security == "tls" else dovecot.port


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_fetched_over_tls_becomes_tickets(
    ctx, dovecot, imap_folder, make_mailbox, trusted_ca, security
):
    trusted_ca()
    mailbox = make_mailbox(imap_security=security, imap_port=imap_port(dovecot, security))
    dovecot.append(imap_folder, mail(), mail(sender="bob@customer.test"))

    report = fetch_mailbox(mailbox, "test-worker")

    assert report.error is None, report.error
    assert report.taken == {"stored": 2}
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id))
    assert [t.customer.identity("email") for t in tickets] == [
        "ada@customer.test",
        "bob@customer.test",
    ]


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_an_untrusted_imap_certificate_is_refused_and_the_mail_waits(
    ctx, dovecot, imap_folder, make_mailbox, trusted_ca, security
):
    trusted_ca(False)
    mailbox = make_mailbox(imap_security=security, imap_port=imap_port(dovecot, security))
    dovecot.append(imap_folder, mail())

    report = fetch_mailbox(mailbox, "test-worker")

    assert UNTRUSTED in report.error
    assert UNTRUSTED in mailbox.last_error  # what `mailbox list` and the admin page show
    assert f"{dovecot.host}:{imap_port(dovecot, security)}" in mailbox.last_error
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert all(b"\\Seen" not in flags for flags in dovecot.flags(imap_folder).values())

    trusted_ca()
    assert fetch_mailbox(mailbox, "test-worker").taken == {"stored": 1}
    assert mailbox.last_error is None


def test_a_certificate_for_another_host_name_is_refused(
    ctx, dovecot, imap_folder, make_mailbox, trusted_ca
):
    trusted_ca()
    # 127.1 is 127.0.0.1 to the resolver but a name the certificate does not carry.
    mailbox = make_mailbox(imap_host="127.1", imap_security="tls", imap_port=dovecot.tls_port)
    dovecot.append(imap_folder, mail())

    report = fetch_mailbox(mailbox, "test-worker")

    assert "TLS certificate refused: Hostname mismatch" in report.error
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


@pytest.fixture(params=["starttls", "tls"])
def tls_sink(request):
    """(security, sink): a sink that insists on STARTTLS, or one that speaks only TLS."""
    fixture = {"starttls": "smtp_starttls_sink", "tls": "smtp_tls_sink"}[request.param]
    return request.param, request.getfixturevalue(fixture)


def queue_reply(sink, security: str, inbound, make_user) -> Message:
    """A mailbox sending through ``sink`` and an agent's reply queued on it; commits."""
    sending_mailbox(sink, smtp_security=security)
    ticket = service.receive(inbound(sender="ada@customer.test", subject="Parcel")).ticket
    message = service.reply(ticket, make_user(), "It left today.")
    db.session.commit()
    return message


def test_a_reply_is_sent_over_tls(ctx, tls_sink, trusted_ca, inbound, make_user):
    security, sink = tls_sink
    trusted_ca()
    reply = queue_reply(sink, security, inbound, make_user)

    assert str(run_due("w1")) == "sent 1, retrying 0, failed 0", reply.error_text

    [envelope] = sink.received
    assert envelope.rcpt_tos == ["ada@customer.test"]
    assert b"It left today." in envelope.content
    assert reply.delivery_state == DeliveryState.SENT


def test_an_untrusted_smtp_certificate_keeps_the_reply_for_a_retry(
    ctx, tls_sink, trusted_ca, inbound, make_user
):
    security, sink = tls_sink
    trusted_ca(False)
    reply = queue_reply(sink, security, inbound, make_user)

    assert run_due("w1").retrying == 1
    assert reply.error_code == "tls-certificate"
    assert UNTRUSTED in reply.error_text
    assert reply.delivery_state == DeliveryState.QUEUED
    assert sink.received == []

    trusted_ca()
    assert run_due("w1", now=reply.next_attempt_at + timedelta(seconds=1)).sent == 1
    assert len(sink.received) == 1


def test_plain_smtp_to_a_server_requiring_starttls_keeps_the_reply_with_its_refusal(
    ctx, smtp_starttls_sink, inbound, make_user
):
    reply = queue_reply(smtp_starttls_sink, "none", inbound, make_user)

    run_due("w1")

    assert reply.error_code == "530"
    assert "STARTTLS" in reply.error_text
    assert reply.delivery_state == DeliveryState.QUEUED  # goes out once the settings are fixed
    assert smtp_starttls_sink.received == []
