"""An email as it was sent: its HTML (inline images in place, remote ones only on request),
its quoted history folded, and the original .eml."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.mail.intake import hand_in
from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox
from helpdesk.models import Message, Ticket

PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e527de fc0000000049454e44ae426082".replace(" ", "")
)


def html_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ada Lovelace <ada@customer.test>"
    mail["To"] = "help@shop.test"
    mail["Subject"] = "Photo of the broken grinder"
    mail["Message-ID"] = "<photo-1@customer.test>"
    mail["Date"] = "Sun, 06 Dec 2026 10:00:00 +0000"
    mail.set_content("See the photo.\n\nOn Friday, Shop wrote:\n> Send us a photo please.\n")
    mail.add_alternative(
        '<p>See the <b>photo</b>:</p><img src="cid:grinder@customer.test">'
        '<img src="https://tracker.example/pixel.gif"><script>alert(1)</script>',
        subtype="html",
    )
    mail.get_payload()[1].add_related(
        PIXEL, "image", "png", cid="<grinder@customer.test>", filename="grinder.png"
    )
    return mail.as_bytes()


def test_an_agent_reads_the_email_as_sent_and_downloads_its_original(client, login, setup):
    raw = html_mail()
    with setup():
        mailbox = add_mailbox(MailboxSettings("help@shop.test", "127.0.0.1", "help", "pw"))
        hand_in(mailbox, raw)
        message = db.session.scalars(select(Message)).one()
        ticket = db.session.get(Ticket, message.ticket_id)
        ticket_id, number, message_id = ticket.id, ticket.number, message.id
        picture = next(a.id for a in message.attachments if a.content_id)
    login()
    page = client.get(f"/tickets/{ticket_id}").text
    assert "Show quoted text" in page and "Send us a photo please." in page
    assert f'src="/messages/{message_id}/html"' in page

    html = client.get(f"/messages/{message_id}/html")
    assert html.status_code == 200
    assert f'src="/attachments/{picture}"' in html.text  # the inline picture, in place
    assert "tracker.example" not in html.text  # remote images blocked
    assert "<script" not in html.text
    policy = html.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "https:" not in policy and "sandbox" in policy
    assert client.get(f"/attachments/{picture}").data == PIXEL

    remote = client.get(f"/messages/{message_id}/html?remote=1")
    assert "https://tracker.example/pixel.gif" in remote.text
    assert "img-src 'self' data: https: http:" in remote.headers["Content-Security-Policy"]

    original = client.get(f"/messages/{message_id}/original")
    assert original.status_code == 200
    assert original.mimetype == "message/rfc822"
    assert original.data == raw
    assert f"ticket-{number}-message-{message_id}.eml" in original.headers["Content-Disposition"]


def test_only_staff_read_emails_and_only_emails_have_these_views(client, login, open_ticket):
    ticket_id = open_ticket("sms")
    assert client.get("/messages/1/html").status_code == 302  # to the login page
    login()
    with client.application.app_context():
        sms = db.session.scalars(select(Message).where(Message.ticket_id == ticket_id)).one()
    assert client.get(f"/messages/{sms.id}/html").status_code == 404
    assert client.get(f"/messages/{sms.id}/original").status_code == 404
