"""The demo's own channels on 127.0.0.1: sinks that receive its replies, a shop page with the
chat widget, and customers' mail and texts handed in through the real intake.

Only ``make demo`` uses them. A real install reads its mailboxes by IMAP, sends through its own
SMTP server and Twilio, and gets texts from Twilio's webhook; here the same intake code takes
mail and texts handed in by a command, the demo mailbox sends to a mail sink, and the SMS
adapter talks to a stand-in for Twilio's REST API. The sinks keep each mail as an ``.eml``
file and each text as a ``.json`` file. A webhook receiver, subscribed to every event, checks
each request's signature as another system would and keeps it as a ``.webhook.json`` file.
"""

from __future__ import annotations

import asyncio
import email
import json
import re
import secrets
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import phonenumbers
from flask import Flask, abort, current_app, render_template
from sqlalchemy import select

from channels import sms
from channels.base import Channel
from helpdesk import demo, inbox
from helpdesk.chat import sites
from helpdesk.extensions import db
from helpdesk.mail import mailboxes
from helpdesk.mail.intake import hand_in
from helpdesk.models import (
    EVENT_TYPES,
    Endpoint,
    InboundEmail,
    InboxItem,
    Mailbox,
    Message,
    Security,
    Ticket,
    WebhookEndpoint,
)
from helpdesk.tickets import endpoints
from helpdesk.webhooks import delivery, signing
from helpdesk.webhooks import endpoints as webhook_endpoints

HOST = "127.0.0.1"
SMTP_PORT = 2525
SHOP_PORT = 5001
TWILIO_PORT = 5002
WEBHOOK_PORT = 5003


def set_up(shop_origins: list[str], smtp_port: int) -> tuple[Mailbox, Endpoint]:
    """The demo mailbox sending to the local sink, and the demo chat site open to the shop page;
    what an admin changed on either is kept. Flushes."""
    return _mailbox(smtp_port), _site(shop_origins)


def webhook_url(port: int) -> str:
    return f"http://{HOST}:{port}/events"


def subscribe_receiver(port: int) -> WebhookEndpoint | None:
    """The demo's webhook receiver subscribed to every event, once; None when this install
    refuses local receivers (``HELPDESK_WEBHOOKS_ALLOW_PRIVATE`` unset). Flushes."""
    if not current_app.config["HELPDESK_WEBHOOKS_ALLOW_PRIVATE"]:
        return None
    url = webhook_url(port)
    found = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == url))
    return found or webhook_endpoints.subscribe(url, list(EVENT_TYPES), None)[0]


def _mailbox(smtp_port: int) -> Mailbox:
    mailbox = mailboxes.mailbox_for(demo.MAILBOX)
    if mailbox is None:
        endpoint = endpoints.endpoint_for(Channel.EMAIL, demo.MAILBOX)
        # Disabled: nothing reads it by IMAP; its customers' mail comes in by `helpdesk demo email`.
        return mailboxes.add_mailbox(
            mailboxes.MailboxSettings(
                address=demo.MAILBOX,
                stage=endpoint.default_stage,
                imap_host=HOST,
                imap_user=demo.MAILBOX,
                imap_password=secrets.token_urlsafe(12),
                smtp_host=HOST,
                smtp_port=smtp_port,
                smtp_security=Security.NONE,
                enabled=False,
            )
        )
    if mailbox.smtp_host in (None, HOST):  # not pointed at a real server by an admin
        mailboxes.update_mailbox(
            mailbox, smtp_host=HOST, smtp_port=smtp_port, smtp_security=Security.NONE
        )
    return mailbox


def _site(shop_origins: list[str]) -> Endpoint:
    site = endpoints.endpoint_for(Channel.CHAT, demo.SITE)
    return sites.complete_site(site, shop_origins, mailbox=demo.MAILBOX)


def demo_site() -> Endpoint | None:
    """The demo chat site once ``helpdesk demo`` has set it up."""
    return sites.site_by_key(demo.SITE)


# --- where the demo's replies go --------------------------------------------------------------


class MailSink:
    """An aiosmtpd handler that accepts every mail and keeps it as an ``.eml`` file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        """Keep the mail; the name sorts by arrival."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{time.time_ns()}.eml"
        await asyncio.to_thread(path.write_bytes, envelope.original_content)
        return "250 Message accepted for delivery"


@contextmanager
def mail_sink(directory: Path, port: int) -> Iterator[None]:
    """Receive mail on HOST:port (ready on entry) until the block ends."""
    from aiosmtpd.controller import Controller  # installed with the dev extras

    controller = Controller(MailSink(directory), hostname=HOST, port=port)
    controller.start()
    try:
        yield
    finally:
        controller.stop()


_TWILIO_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")


def _twilio_handler(directory: Path) -> type[BaseHTTPRequestHandler]:
    class TwilioStandIn(BaseHTTPRequestHandler):
        """Twilio's message creation, answered "sent"; each text kept as a ``.json`` file."""

        def do_POST(self) -> None:
            match = _TWILIO_MESSAGES.match(urlsplit(self.path).path)
            if match is None:
                return self._answer(404, {"code": 20404, "message": "Not Found", "status": 404})
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            text = {
                "sid": "SM" + secrets.token_hex(16),
                "from": form.get("From") or form.get("MessagingServiceSid"),
                "to": form.get("To"),
                "body": form.get("Body", ""),
                "date": formatdate(usegmt=True),
            }
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{time.time_ns()}.json").write_text(json.dumps(text))
            resource = {**text, "account_sid": match.group(1), "status": "sent"}
            return self._answer(201, {**resource, "error_code": None, "error_message": None})

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet: the worker logs what it sent."""

    return TwilioStandIn


@contextmanager
def text_sink(directory: Path, port: int) -> Iterator[None]:
    """Answer as Twilio's REST API on HOST:port (ready on entry) until the block ends."""
    with _serving(ThreadingHTTPServer((HOST, port), _twilio_handler(directory))):
        yield


def _webhook_handler(directory: Path, app: Flask) -> type[BaseHTTPRequestHandler]:
    class WebhookReceiver(BaseHTTPRequestHandler):
        """Another system's end of a webhook: checks the signature, keeps the event."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            msg_id = self.headers.get("webhook-id", "")
            timestamp = self.headers.get("webhook-timestamp", "")
            given = set(self.headers.get("webhook-signature", "").split())
            with app.app_context():
                url = webhook_url(self.server.server_address[1])
                endpoint = db.session.scalar(
                    select(WebhookEndpoint).where(WebhookEndpoint.url == url)
                )
                expected = {
                    signing.sign(secret, msg_id, int(timestamp), body)
                    for secret in (delivery.secrets_in_use(endpoint) if endpoint else [])
                    if timestamp.isdigit()
                }
            verified = bool(given & expected)
            event = {"verified": verified, "date": formatdate(usegmt=True), "event": _json(body)}
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{time.time_ns()}.webhook.json").write_text(json.dumps(event))
            self.send_response(204 if verified else 401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: the delivery log on the Webhooks admin page shows every attempt."""

    return WebhookReceiver


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


@contextmanager
def webhook_sink(directory: Path, port: int) -> Iterator[None]:
    """Receive the demo's webhooks on HOST:port (ready on entry) until the block ends."""
    handler = _webhook_handler(directory, current_app._get_current_object())
    with _serving(ThreadingHTTPServer((HOST, port), handler)):
        yield


@contextmanager
def _serving(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass(frozen=True, slots=True)
class Sent:
    """One mail or text the demo sent, as the sinks kept it."""

    path: Path
    sender: str
    to: str
    subject: str | None  # texts have none
    date: str
    text: str


def sent(directory: Path, limit: int) -> list[Sent]:
    """The latest mails, texts and webhook events the sinks received, newest first."""
    paths = sorted(
        (p for p in directory.glob("*") if p.suffix in (".eml", ".json")),
        key=lambda p: int(p.name.split(".")[0]) if p.name.split(".")[0].isdigit() else 0,
        reverse=True,
    )
    return [_read(p) for p in paths[:limit]]


def _read(path: Path) -> Sent:
    if path.suffix == ".eml":
        return _read_mail(path)
    return _read_webhook(path) if path.name.endswith(".webhook.json") else _read_text(path)


def _read_mail(path: Path) -> Sent:
    mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    body = mail.get_body(preferencelist=("plain",))
    return Sent(
        path,
        str(mail["From"] or ""),
        str(mail["To"] or ""),
        str(mail["Subject"] or ""),
        str(mail["Date"] or ""),
        body.get_content() if body is not None else "",
    )


def _read_text(path: Path) -> Sent:
    text = json.loads(path.read_text())
    return Sent(path, text["from"] or "", text["to"] or "", None, text["date"], text["body"])


def _read_webhook(path: Path) -> Sent:
    kept = json.loads(path.read_text())
    event = kept["event"] if isinstance(kept["event"], dict) else {}
    check = "signature verified" if kept["verified"] else "SIGNATURE DID NOT VERIFY"
    subject = f"webhook {event.get('type', '?')} ({check})"
    data = event.get("data", kept["event"])
    if isinstance(data, dict):  # what changed first: the ticket itself is long
        data = {key: data[key] for key in sorted(data, key=lambda key: key != "changes")}
    text = textwrap.shorten(json.dumps(data), 400)
    return Sent(path, "the helpdesk", "the demo's webhook receiver", subject, kept["date"], text)


# --- the shop page -----------------------------------------------------------------------------

# Path -> (menu label, title); the paths are those the demo's stage rules know (chat-pricing…).
SHOP_PAGES = {
    "/": ("Shop", "Fresh-roasted coffee and the gear to brew it"),
    "/pricing": ("Pricing", "Pricing and the Bean Club"),
    "/compare": ("Compare", "Compare our espresso machines"),
    "/docs/grinder": ("Grinder care", "Grinder care guide"),
    "/blog/brew-guide": ("Blog", "A beginner's pour-over guide"),
    "/contact": ("Contact", "Contact us"),
    "/checkout": ("Checkout", "Checkout"),
}


def shop_app(embed_snippet: str) -> Flask:
    """A tiny shop website whose every page carries the chat widget's tag."""
    shop = Flask(__name__, template_folder="templates/demo")

    @shop.get("/", defaults={"page": ""})
    @shop.get("/<path:page>")
    def page(page: str) -> str:
        path = f"/{page}"
        if path not in SHOP_PAGES:
            abort(404)
        return render_template(
            "shop.html",
            company=demo.COMPANY,
            path=path,
            title=SHOP_PAGES[path][1],
            pages=SHOP_PAGES,
            embed_snippet=embed_snippet,
        )

    return shop


# --- customers' mail and texts handed in -------------------------------------------------------


def hand_in_email(
    sender: str,
    subject: str,
    text: str,
    *,
    name: str | None = None,
    to: str = demo.MAILBOX,
    in_reply_to: str | None = None,
) -> InboundEmail:
    """A customer's email as the demo mailbox would fetch it, taken in by the IMAP intake;
    flushes. Returns its intake log row (outcome, reason, message)."""
    mailbox = mailboxes.mailbox_for(demo.MAILBOX)
    if mailbox is None:
        raise LookupError("the demo mailbox is not set up: run `helpdesk demo` first")
    mime = EmailMessage(policy=policy.SMTP)
    mime["From"] = formataddr((name or "", sender))
    mime["To"] = to
    mime["Subject"] = subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    if in_reply_to:
        mime["In-Reply-To"] = mime["References"] = in_reply_to
    mime.set_content(text)
    return hand_in(mailbox, mime.as_bytes())


def hand_in_text(sender: str, text: str, *, to: str = demo.TEXT_LINE) -> str:
    """A customer's text stored in the webhook inbox as Twilio's webhook stores it, for the
    worker to take in; commits (on a connection of its own, as the webhook). Returns its sid."""
    form = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": e164(sender),
        "To": e164(to),
        "Body": text,
        "NumMedia": "0",
    }
    msg = sms.parse(form)
    with db.engine.begin() as connection:
        inbox.accept(connection, Channel.SMS, msg.external_id, form, sender=msg.sender)
    return msg.external_id


def e164(number: str) -> str:
    """A phone number as Twilio writes it; ValueError when it is no possible number."""
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"not a phone number: {number!r} ({error})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"not a possible phone number: {number!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True, slots=True)
class TextIntake:
    taken: bool
    ticket_number: int | None = None
    error: str | None = None


def text_intake(sid: str) -> TextIntake:
    """What the worker made of a text handed in so far."""
    item = db.session.scalar(
        select(InboxItem).where(InboxItem.channel == Channel.SMS, InboxItem.external_id == sid)
    )
    if item is None or item.processed_at is None:
        return TextIntake(taken=False, error=item.error if item else None)
    number = db.session.scalar(
        select(Ticket.number)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(Message.id == item.message_id)
    )
    return TextIntake(taken=True, ticket_number=number, error=item.error)
