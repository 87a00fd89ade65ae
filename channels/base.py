"""The normalized shapes every channel adapter produces and consumes.

Nothing here knows of Flask or the database: an adapter turns a provider's format into an
``InboundMessage`` and sends an ``OutboundMessage``; the helpdesk does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None  # email: what a ``cid:`` reference in the HTML points at
    inline: bool = False


@dataclass(frozen=True, slots=True)
class MediaLink:
    """A file the provider hosts (an MMS picture): recorded at once, fetched later."""

    url: str
    content_type: str
    filename: str


class SmsKeyword(StrEnum):
    """The carrier-level keywords every SMS sender must honour."""

    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"
    HELP = "help"


@dataclass(frozen=True, slots=True)
class Utm:
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message as any channel delivers it, already parsed and verified."""

    channel: Channel
    endpoint: str  # the mailbox address, Twilio number / messaging service, or chat site key
    external_id: str  # de-duplication key, unique per (channel, endpoint)
    sender: str  # email address, E.164 number, or chat visitor id
    text: str
    sender_name: str | None = None
    folded_text: str | None = None  # email: quoted history and signature, folded away for agents
    recipient: str | None = None  # the address or number the customer wrote to (aliases)
    # Email: the other people the mail went to (To and Cc, not us, not the sender), who are
    # copied on our replies.
    cc: tuple[str, ...] = ()
    subject: str | None = None
    html: str | None = None  # already sanitised by the adapter
    attachments: tuple[InboundAttachment, ...] = ()
    raw_ref: str | None = None  # storage key of the raw message as received
    thread_hints: tuple[str, ...] = ()  # In-Reply-To and References message ids
    auto_submitted: bool = False
    received_at: datetime | None = None
    # Email only: equal for copies of one mail, whichever mailbox they came through, and only
    # for them (the Message-ID alone is not: some mailers reuse one).
    content_hash: str | None = None
    # Web chat only.
    conversation_id: str | None = None
    page_url: str | None = None
    utm: Utm = field(default_factory=Utm)
    chosen_stage: str | None = None  # the customer's explicit pre-chat choice
    email: str | None = None  # an address the visitor typed (unverified)
    host_user_id: str | None = None  # a host-site user id whose HMAC was verified
    # SMS only.
    media: tuple[MediaLink, ...] = ()  # MMS items, downloaded by the worker after intake
    keyword: SmsKeyword | None = None  # STOP, START, HELP or one of their synonyms


@dataclass(frozen=True, slots=True)
class OutboundAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What an adapter is asked to send."""

    channel: Channel
    endpoint: str
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    cc: tuple[str, ...] = ()  # email: copied, in the Cc header
    media_urls: tuple[str, ...] = ()  # SMS: files the provider fetches from us (MMS)
    message_id: str | None = None  # email: our own Message-ID, kept across retries
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[OutboundAttachment, ...] = ()
    # Our own id of the message: SMS status callbacks carry it back, so a status that
    # arrives before the provider id was recorded still finds its message.
    reference: str | None = None
    # Sent by the helpdesk itself (a survey question, an acknowledgement): RFC 3834.
    auto_submitted: bool = False
    # Email: where one click unsubscribes the recipient (RFC 8058), on mail we started.
    list_unsubscribe: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider accepted the message."""

    provider_id: str
    delivered: bool = False  # some providers confirm delivery synchronously
    detail: str = ""


class DeliveryError(Exception):
    """A send that did not go through; ``code`` and ``text`` are what the provider said."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


class TemporaryFailure(DeliveryError):
    """Worth retrying later (timeouts, 4xx SMTP replies, HTTP 5xx, rate limits)."""


class UncertainDelivery(TemporaryFailure):
    """No answer after the provider may already have taken the message (a timeout, a dropped
    connection after the mail was handed over): sending again may deliver it twice."""

    CODE = "no-answer"

    def __init__(self, text: str) -> None:
        super().__init__(self.CODE, text)


class PermanentFailure(DeliveryError):
    """Retrying will not help (unknown recipient, opted-out number, rejected content)."""


class RecipientOptedOut(PermanentFailure):
    """The provider refused because the recipient unsubscribed (an SMS STOP)."""


class ChannelAdapter(Protocol):
    channel: Channel

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand the message to the provider; raise a DeliveryError when it is not accepted."""
        ...
