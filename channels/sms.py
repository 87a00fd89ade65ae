"""Twilio SMS and MMS: signed webhooks in, REST API calls out, MMS media downloads.

Knows nothing of Flask or the database: the webhook hands in the form it received, the
worker calls ``send`` and ``fetch_media``.
"""

from __future__ import annotations

import hmac
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from channels.base import (
    Channel,
    InboundMessage,
    MediaLink,
    OutboundMessage,
    PermanentFailure,
    RecipientOptedOut,
    SendResult,
    SmsKeyword,
    TemporaryFailure,
    UncertainDelivery,
)

DEFAULT_API_URL = "https://api.twilio.com"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio refuses longer bodies (error 21617); we refuse them before queueing.
MAX_BODY = 1600
# Twilio's own limit for one MMS item is 5 MB; anything far larger is not a Twilio file.
MAX_MEDIA_BYTES = 20 * 1024 * 1024
OPTED_OUT_ERROR = 21610
# Twilio's sids are 34 characters and its addresses (a number, whatsapp:+…, a service sid)
# short; a form with longer values is no message of theirs and cannot be stored as one.
MAX_SID = 64
MAX_ADDRESS = 254
MAX_MEDIA_URL = 1000
MAX_CONTENT_TYPE = 120
TIMEOUT = 30.0

# The keywords Twilio's default opt-out handling reacts to; the whole body must be the word.
KEYWORDS: dict[str, SmsKeyword] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), SmsKeyword.OPT_OUT
    ),
    **dict.fromkeys(("START", "UNSTOP", "YES"), SmsKeyword.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), SmsKeyword.HELP),
}
# Advanced Opt-Out names the keyword class itself, covering custom keywords too.
OPT_OUT_TYPES = {"STOP": SmsKeyword.OPT_OUT, "START": SmsKeyword.OPT_IN, "HELP": SmsKeyword.HELP}


class InvalidForm(ValueError):
    """A webhook form that lacks what every Twilio message carries."""


def is_authentic(auth_token: str | None, url: str, form: Mapping, signature: str | None) -> bool:
    """True when ``X-Twilio-Signature`` is Twilio's HMAC of the public URL and the form."""
    if not auth_token or not signature:
        return False
    validator = RequestValidator(auth_token)
    # The URL as configured is what Twilio signs; only when that fails are the variants
    # ``validate`` also tries (with and without the default port) worth computing.
    if hmac.compare_digest(validator.compute_signature(url, form).encode(), signature.encode()):
        return True
    return validator.validate(url, form, signature)


def parse(form: Mapping[str, str]) -> InboundMessage:
    """An inbound SMS or MMS webhook form as an InboundMessage."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid")
    sender, to = form.get("From"), form.get("To")
    if not sid or not sender or not to:
        raise InvalidForm("a Twilio message webhook needs MessageSid, From and To")
    service = form.get("MessagingServiceSid")
    _check_length("MessageSid", sid, MAX_SID)
    for name, value in (("From", sender), ("To", to), ("MessagingServiceSid", service)):
        _check_length(name, value, MAX_ADDRESS)
    body = form.get("Body", "")
    # Messaging Services deliver from a pool of numbers: the service is the endpoint.
    return InboundMessage(
        channel=Channel.SMS,
        endpoint=service or to,
        external_id=sid,
        sender=sender,
        recipient=to,
        text=body,
        media=_media(form, sid),
        keyword=_keyword(form, body),
    )


def _media(form: Mapping[str, str], sid: str) -> tuple[MediaLink, ...]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        raise InvalidForm(f"NumMedia is not a number: {form.get('NumMedia')!r}") from None
    links = []
    for n in range(count):
        url = form.get(f"MediaUrl{n}")
        if not url:
            raise InvalidForm(f"NumMedia is {count} but MediaUrl{n} is missing")
        content_type = form.get(f"MediaContentType{n}") or "application/octet-stream"
        _check_length(f"MediaUrl{n}", url, MAX_MEDIA_URL)
        _check_length(f"MediaContentType{n}", content_type, MAX_CONTENT_TYPE)
        links.append(MediaLink(url, content_type, _media_filename(url, content_type, sid, n)))
    return tuple(links)


def _check_length(name: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidForm(f"{name} is longer than {limit} characters")


def _media_filename(url: str, content_type: str, sid: str, n: int) -> str:
    # Kept to a length every file system and the attachment table take.
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1][:200] or f"{sid}-{n}"
    extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
    return name if "." in name else name + extension


def _keyword(form: Mapping[str, str], body: str) -> SmsKeyword | None:
    if form.get("OptOutType", "").upper() in OPT_OUT_TYPES:
        return OPT_OUT_TYPES[form["OptOutType"].upper()]
    return KEYWORDS.get(body.strip().strip(".!").upper())


# Twilio's message statuses as the helpdesk's delivery states; the rest (queued, sending,
# accepted, scheduled) say nothing beyond "queued" and are ignored.
DELIVERY_STATES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status callback: Twilio's status and, on failure, its error code."""

    provider_id: str
    status: str
    error_code: str | None = None
    error_text: str | None = None

    @property
    def delivery(self) -> str | None:
        """The delivery state this status means: sent, delivered, failed, or None."""
        return DELIVERY_STATES.get(self.status)


def parse_status(form: Mapping[str, str]) -> StatusUpdate:
    """A status callback form as a StatusUpdate."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise InvalidForm("a Twilio status callback needs MessageSid and MessageStatus")
    status = status.lower()
    if DELIVERY_STATES.get(status) != "failed":
        return StatusUpdate(sid, status)
    code = form.get("ErrorCode") or status
    return StatusUpdate(
        sid, status, code, form.get("ErrorMessage") or f"Twilio reports the message {status}"
    )


@dataclass(frozen=True, slots=True)
class TwilioAccount:
    """Credentials and the API base every request goes to."""

    account_sid: str
    auth_token: str
    api_url: str = DEFAULT_API_URL


def rebase(url: str, api_url: str) -> str:
    """Point a Twilio URL at ``api_url`` (a local stand-in); other URLs stay as they are."""
    if api_url.rstrip("/") == DEFAULT_API_URL:
        return url
    parts, base = urlsplit(url), urlsplit(api_url)
    host = (parts.hostname or "").lower()
    if host != "twilio.com" and not host.endswith(".twilio.com"):
        return url
    return urlunsplit(
        (base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, "")
    )


class RebasingHttpClient(TwilioHttpClient):
    """The twilio library's HTTP client, sending every Twilio API request to another base URL.

    ``edge`` and ``region`` cannot name a local server, so the host is rewritten here.
    """

    def __init__(self, api_url: str, timeout: float = TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.api_url = api_url

    def request(self, method: str, url: str, *args, **kwargs):
        return super().request(method, rebase(url, self.api_url), *args, **kwargs)


class TwilioSmsAdapter:
    """Sends SMS through Twilio's REST API and downloads MMS media with the account's key."""

    channel = Channel.SMS

    def __init__(self, account: TwilioAccount, status_callback: str | None = None) -> None:
        self.account = account
        self.status_callback = status_callback
        self.client = Client(
            account.account_sid,
            account.auth_token,
            http_client=RebasingHttpClient(account.api_url),
            # Never let TWILIO_EDGE / TWILIO_REGION from the environment rewrite our URLs.
            environment={"TWILIO_ACCOUNT_SID": account.account_sid},
        )
        self._media_session = requests.Session()

    def send(self, message: OutboundMessage) -> SendResult:
        """Create the message at Twilio; raise a DeliveryError when it is not accepted."""
        if message.attachments:
            raise PermanentFailure("attachments", "SMS replies cannot carry files")
        sender = (
            {"messaging_service_sid": message.endpoint}
            if message.endpoint.startswith("MG")
            else {"from_": message.endpoint}
        )
        # Files go as MMS: Twilio fetches each from its URL (a signed link of ours).
        media = {"media_url": list(message.media_urls)} if message.media_urls else {}
        try:
            created = self.client.messages.create(
                to=message.to,
                body=message.text,
                status_callback=self._callback_url(message.reference),
                **sender,
                **media,
            )
        except TwilioRestException as error:
            raise _rest_failure(error) from None
        except requests.RequestException as error:
            raise _network_failure(error) from None
        return SendResult(provider_id=created.sid, detail=created.status or "")

    def _callback_url(self, reference: str | None) -> str | None:
        if not self.status_callback or not reference:
            return self.status_callback
        return f"{self.status_callback}?{urlencode({'message': reference})}"

    def fetch_media(self, url: str) -> bytes:
        """The bytes of one MMS item; only Twilio's own URLs get the account's credentials."""
        target = rebase(url, self.account.api_url)
        if not _is_twilio(url) and not target.startswith(self.account.api_url.rstrip("/") + "/"):
            raise PermanentFailure("untrusted-url", f"not a Twilio media URL: {url}")
        try:
            # requests drops the credentials when Twilio redirects to its CDN on another host.
            with self._media_session.get(
                target,
                auth=(self.account.account_sid, self.account.auth_token),
                timeout=TIMEOUT,
                stream=True,
            ) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise TemporaryFailure(str(response.status_code), response.reason or "")
                if response.status_code >= 400:
                    raise PermanentFailure(str(response.status_code), response.reason or "")
                return _read_limited(response)
        except requests.RequestException as error:
            raise TemporaryFailure(type(error).__name__, str(error)) from None


def _is_twilio(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return urlsplit(url).scheme == "https" and (
        host == "twilio.com" or host.endswith(".twilio.com")
    )


def _read_limited(response: requests.Response) -> bytes:
    data = bytearray()
    for chunk in response.iter_content(64 * 1024):
        data += chunk
        if len(data) > MAX_MEDIA_BYTES:
            raise PermanentFailure("too-large", f"media larger than {MAX_MEDIA_BYTES} bytes")
    return bytes(data)


def _rest_failure(error: TwilioRestException) -> PermanentFailure | TemporaryFailure:
    code = str(error.code or error.status)
    text = error.msg or f"HTTP {error.status}"
    if error.status == 429 or error.status >= 500:
        return TemporaryFailure(code, text)
    if error.code == OPTED_OUT_ERROR:
        return RecipientOptedOut(code, text)
    return PermanentFailure(code, text)


def _network_failure(error: requests.RequestException) -> TemporaryFailure:
    reason = getattr(error.args[0], "reason", None) if error.args else None
    if isinstance(error, requests.ConnectTimeout) or isinstance(reason, NewConnectionError):
        return TemporaryFailure("unreachable", f"Twilio could not be reached: {error}")
    # The request may have reached Twilio and been accepted: sending again may text twice.
    return UncertainDelivery(
        f"Twilio gave no answer ({type(error).__name__}); the text may have gone out already"
    )
