"""Sending replies by SMTP: MIME building, and SMTP answers turned into retry decisions."""

from __future__ import annotations

import html
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from channels.base import (
    Channel,
    OutboundMessage,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
    UncertainDelivery,
)
from channels.email.tls import certificate_refusal, tls_context

# Mail clients cope with long References, but some servers cut headers; the newest ids matter.
_MAX_REFERENCES = 20
# 5xx answers that mean our mailbox settings are wrong, not the message (RFC 3207, RFC 4954):
# 530 STARTTLS or authentication required, 534 a stronger mechanism needed, 535 credentials
# refused. An admin fixes the mailbox and the reply goes out as it is, within the attempt limit.
_SETTINGS_MISTAKES = frozenset({530, 534, 535})


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # none | starttls | tls
    address: str  # the mailbox address: From, Reply-To and envelope sender (bounces come back)
    user: str | None = None
    password: str | None = None
    display_name: str | None = None
    ca_file: str | None = None  # extra certificate authorities to trust (an in-house CA)
    timeout: float = 30.0


def build_mime(message: OutboundMessage, settings: SmtpSettings) -> EmailMessage:
    """The email as it goes out: text and HTML alternatives, attachments, threading headers."""
    mime = EmailMessage(policy=policy.SMTP)
    mime["From"] = formataddr((settings.display_name or "", settings.address))
    mime["Reply-To"] = settings.address
    mime["To"] = ascii_domain(message.to)
    if message.cc:
        mime["Cc"] = ", ".join(ascii_domain(address) for address in message.cc)
    mime["Subject"] = message.subject or ""
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = message.message_id or make_msgid()
    if message.in_reply_to:
        mime["In-Reply-To"] = message.in_reply_to
    if message.references:
        mime["References"] = " ".join(message.references[-_MAX_REFERENCES:])
    if message.auto_submitted:
        # RFC 3834: mark it so responders stay quiet; Outlook honours only its own header.
        mime["Auto-Submitted"] = "auto-replied"
        mime["X-Auto-Response-Suppress"] = "All"
    if message.list_unsubscribe:
        # RFC 2369 and RFC 8058: mail clients offer an unsubscribe button that POSTs there.
        mime["List-Unsubscribe"] = f"<{message.list_unsubscribe}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(message.text)
    mime.add_alternative(message.html or text_to_html(message.text), subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mime.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return mime


def ascii_domain(address: str) -> str:
    """The address with an IDN domain in punycode (RFC 5890), as every SMTP server takes it.

    Addresses are kept with Unicode domains; only a non-ASCII local part needs SMTPUTF8.
    """
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def text_to_html(text: str) -> str:
    """A plain reply as simple HTML: paragraphs and line breaks, everything escaped."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f"<!DOCTYPE html><html><body>{body}</body></html>"


class EmailAdapter:
    """Sends email replies through the SMTP server of the mailbox they belong to."""

    channel = Channel.EMAIL

    def __init__(self, settings_for: Callable[[str], SmtpSettings | None]) -> None:
        self._settings_for = settings_for

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand the message to the SMTP server; what time or an admin can fix is temporary."""
        settings = self._settings_for(message.endpoint)
        if settings is None:
            raise PermanentFailure("no-smtp", f"no SMTP server is set for {message.endpoint}")
        mime = build_mime(message, settings)
        recipients = [ascii_domain(address) for address in (message.to, *message.cc)]
        client: _Smtp | _SmtpSsl | None = None
        try:
            client = _connect(settings)
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(mime, from_addr=settings.address, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            raise _failure(code, text) from None
        except smtplib.SMTPResponseException as error:
            raise _failure(error.smtp_code, error.smtp_error) from None
        except ssl.SSLCertVerificationError as error:
            # Temporary: once an admin trusts the server's CA the reply goes out as it is.
            refusal = f"{settings.host}:{settings.port}: {certificate_refusal(error)}"
            raise TemporaryFailure("tls-certificate", refusal) from None
        except (smtplib.SMTPException, OSError) as error:
            reason = str(error) or type(error).__name__
            if client is not None and client.handed_over:
                raise UncertainDelivery(
                    f"the connection was lost after the mail was handed over ({reason}); "
                    "the server may have taken it"
                ) from None
            raise TemporaryFailure("connection", reason) from None
        finally:
            if client is not None:
                _quit(client)
        return SendResult(provider_id=str(mime["Message-ID"]), detail="accepted by SMTP server")


class _HandOverNoted:
    """Notes when the mail itself went to the server: a connection lost after that leaves
    unknown whether the server took it (RFC 1047)."""

    handed_over = False

    def data(self, msg):
        self.handed_over = True
        return super().data(msg)


class _Smtp(_HandOverNoted, smtplib.SMTP):
    pass


class _SmtpSsl(_HandOverNoted, smtplib.SMTP_SSL):
    pass


def _connect(settings: SmtpSettings) -> _Smtp | _SmtpSsl:
    if settings.security == "tls":
        return _SmtpSsl(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=tls_context(settings.ca_file),
        )
    client = _Smtp(settings.host, settings.port, timeout=settings.timeout)
    if settings.security == "starttls":
        client.starttls(context=tls_context(settings.ca_file))
    return client


def _quit(client: smtplib.SMTP) -> None:
    # The server's answer to the mail is all that counts: a failing goodbye changes nothing.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _failure(code: int, text: bytes | str) -> TemporaryFailure | PermanentFailure:
    answer = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    temporary = 400 <= code < 500 or code < 0 or code in _SETTINGS_MISTAKES
    kind = TemporaryFailure if temporary else PermanentFailure
    return kind(str(code), answer)
