"""Raw RFC 5322 bytes to an ``InboundMessage``: fast on the hot path, never crashing on bad input.

Headers are read with the ``compat32`` policy and decoded only where the ticket needs them; the
modern ``email.policy.default`` builds header objects for every header and is ten times slower
(INFRA.md). The raw bytes are stored whole, so nothing a lazy decode skips is lost.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import mimetypes
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email import policy
from email.header import Header, decode_header
from email.headerregistry import HeaderRegistry
from email.message import Message as MimePart
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from channels.base import Channel, InboundAttachment, InboundMessage
from channels.email.html import html_to_text, sanitize_html
from channels.email.loops import automatic_kind, no_answer_reason
from channels.email.quotes import split_reply

_PARSER = BytesParser(policy=policy.compat32)
_MESSAGE_IDS = re.compile(r"<[^<>\s]{1,250}>")
_ENCODED_WORD_GAP = re.compile(r"(\?=)\s+(=\?)")
_MAX_EXTERNAL_ID = 300
# RFC 5321 4.5.3.1.3: a path holds at most 256 characters, the angle brackets included.
_MAX_ADDRESS = 254
# RFC 6838 4.2: type and subtype names of at most 127 characters each; longer is garbage.
_MAX_CONTENT_TYPE = 120
# What a copy of one mail keeps however it travelled: transport headers (Received,
# Delivered-To, Return-Path, X-…) differ between mailboxes, these and the body do not.
_COPY_HEADERS = re.compile(rb"^(from|date|subject)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.I | re.M)
# An address header the fast compat32 parser may misread: comments, quoted strings, escapes,
# groups. Those go through policy.default's full RFC 5322 parser, ten times slower.
_FULL_ADDRESS_SYNTAX = re.compile(r'[()\\":;]')
_ADDRESS_HEADER = HeaderRegistry()
# Where the address the customer wrote to may be recorded (aliases, forwarding).
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")


class EmailParseError(Exception):
    """The message cannot become a ticket message; ``reason`` says why, for the admin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a delivery status notification (RFC 3464) says about one of our messages."""

    original_message_id: str | None
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # e.g. 5.1.1
    recipient: str | None
    diagnostic: str


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    message: InboundMessage
    message_id: str | None  # the Message-ID header as sent
    no_answer: str | None  # why no automatic answer may go to the sender
    from_us: bool  # sent from one of our own addresses: a loop, never a ticket
    report: DeliveryReport | None = None


def dedupe_key(raw: bytes) -> str:
    """Equal for copies of one email however it reached us, and only for them.

    A hash of the normalised From, Date and Subject and of the body (attachments included) with
    its line endings normalised. Transport headers do not count, nor does the Message-ID: broken
    mailers and lists reuse one for different mail, and a copy is known by its content.
    """
    head, _, body = _split_head(raw)
    found: dict[bytes, bytes] = {}
    for match in _COPY_HEADERS.finditer(head):
        found.setdefault(match.group(1).lower(), match.group(2))
    digest = hashlib.sha256()
    for name in (b"from", b"date", b"subject"):
        digest.update(_normalised_field(name, found.get(name, b"")))
        digest.update(b"\0")
    digest.update(body.replace(b"\r\n", b"\n").rstrip())
    return digest.hexdigest()


def _normalised_field(name: bytes, value: bytes) -> bytes:
    """Refolding and spacing do not count; a Date counts as the instant it names."""
    text = b" ".join(value.split())
    if name == b"date":
        try:
            at = parsedate_to_datetime(text.decode("ascii", "replace"))
            return str(at.replace(tzinfo=at.tzinfo or UTC).timestamp()).encode()
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return text


def _split_head(raw: bytes) -> tuple[bytes, bytes, bytes]:
    positions = [p for p in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if p >= 0]
    if not positions:
        return raw, b"", b""
    end = min(positions)
    separator = b"\r\n\r\n" if raw.startswith(b"\r\n\r\n", end) else b"\n\n"
    return raw[:end], separator, raw[end + len(separator) :]


def parse_email(
    raw: bytes,
    *,
    endpoint: str,
    own_addresses: Collection[str] = (),
    raw_ref: str | None = None,
    key: str | None = None,
    remote_images: bool = False,
) -> ParsedEmail:
    """Parse one raw email received at ``endpoint``; EmailParseError when it cannot be taken."""
    if not raw.strip():
        raise EmailParseError("the message is empty (no headers at all)")
    mime = _PARSER.parsebytes(raw)
    key = key or dedupe_key(raw)
    own = {address.lower() for address in own_addresses} | {endpoint.lower()}
    sender_name, sender = _sender(mime)

    def header(name: str) -> str | None:
        return _header_text(mime.get(name)) or None

    parts = _Parts()
    _walk(mime, parts)
    report = _delivery_report(mime)
    html = sanitize_html(parts.html, remote_images=remote_images) if parts.html else None
    full_text = parts.text if parts.text is not None else html_to_text(parts.html or "")
    text, folded = split_reply(_clean_text(full_text))
    message_id = _first_id(mime.get("Message-ID"))
    automatic = automatic_kind(header) or ("delivery report" if report else None)
    inbound = InboundMessage(
        channel=Channel.EMAIL,
        endpoint=endpoint,
        external_id=_external_id(message_id, key),
        content_hash=key,
        sender=sender,
        sender_name=sender_name,
        text=text,
        folded_text=folded or None,
        recipient=_recipient(mime, own, endpoint.lower()),
        cc=_copied(mime, own, sender),
        subject=" ".join(_header_text(mime.get("Subject")).split()) or None,
        html=html,
        attachments=tuple(parts.attachments),
        raw_ref=raw_ref,
        thread_hints=_thread_hints(mime),
        auto_submitted=automatic is not None,
    )
    return ParsedEmail(
        message=inbound,
        message_id=message_id,
        no_answer=no_answer_reason(header, sender, own) or automatic,
        from_us=sender.lower() in own,
        report=report,
    )


@dataclass(frozen=True, slots=True)
class ReadMail:
    """One raw email as read off the server: its dedupe key and its parse, or why it has none."""

    uid: int
    raw: bytes
    key: str
    parsed: ParsedEmail | None
    problem: str = ""


def read_mail(
    raws: Sequence[tuple[int, bytes]], endpoint: str, own_addresses: Collection[str]
) -> list[ReadMail]:
    """Key and parse each (uid, raw) pair; a message that cannot be parsed says why instead.

    Pure and picklable both ways, so a big backlog can be read in a helper process.
    """
    read = []
    for uid, raw in raws:
        key = dedupe_key(raw)
        try:
            parsed = parse_email(raw, endpoint=endpoint, own_addresses=own_addresses, key=key)
        except EmailParseError as error:
            read.append(ReadMail(uid, raw, key, None, str(error)))
        except Exception as error:
            # A message no code path expected must not stop the mailbox: keep it for an admin.
            read.append(ReadMail(uid, raw, key, None, f"{type(error).__name__}: {error}"))
        else:
            read.append(ReadMail(uid, raw, key, parsed))
    return read


def _external_id(message_id: str | None, key: str) -> str:
    if message_id and len(message_id) <= _MAX_EXTERNAL_ID:
        return message_id
    return content_message_id(key)


def content_message_id(key: str) -> str:
    """The id a mail is known by when its Message-ID is missing, unusable or another's."""
    return f"<{key}@content-hash.invalid>"


# --- headers ------------------------------------------------------------------------------


def _header_text(value: object) -> str:
    """A header as text: RFC 2047 words decoded, raw 8-bit bytes read as UTF-8, never an error."""
    text = _unfolded(value)
    if "=?" not in text:
        return text
    try:
        chunks = decode_header(_ENCODED_WORD_GAP.sub(r"\1\2", text))
    except Exception:
        return text
    return "".join(
        chunk if isinstance(chunk, str) else decode_bytes(chunk, charset)
        for chunk, charset in chunks
    )


def _unfolded(value: object) -> str:
    """A header on one line, its raw 8-bit bytes read as UTF-8; RFC 2047 words left as they are."""
    if value is None:
        return ""
    if isinstance(value, Header):
        # compat32 wraps raw 8-bit header bytes as an "unknown-8bit" Header: almost always UTF-8.
        text = "".join(
            chunk if isinstance(chunk, str) else decode_bytes(chunk, charset)
            for chunk, charset in decode_header(value)
        )
    else:
        text = str(value)
        if any("\udc80" <= char <= "\udcff" for char in text):
            # Unencoded 8-bit bytes (against RFC 5322, common anyway): almost always UTF-8.
            text = text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    # A NUL is no text anyone wrote, and PostgreSQL stores none.
    return text.replace("\r", "").replace("\n", "").replace("\x00", "")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset (an unknown one: UTF-8 or Windows-1252); never an error."""
    name = (charset or "").strip().strip("\"'").lower() or "utf-8"
    try:
        codec = codecs.lookup(name).name
    # "unknown-8bit" (raw bytes in a header), made-up names, names with a NUL in them
    except (LookupError, ValueError):
        codec = "ascii"
    if codec == "ascii" and not data.isascii():
        # 8-bit text labelled ASCII (or not labelled at all): UTF-8 if it is, else Windows-1252.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
    try:
        return data.decode(codec, errors="replace")
    except Exception:  # a codec that fails even in replace mode (utf-7 on garbage)
        return data.decode("utf-8", errors="replace")


def _sender(mime: MimePart) -> tuple[str | None, str]:
    for name in ("From", "Sender", "Return-Path"):
        for display, address in _addresses(mime.get(name)):
            return (display or None), address
    said = _unfolded(mime.get("From"))[:100]
    raise EmailParseError(f"no sender address in From ({said!r}), Sender or Return-Path")


def _recipient(mime: MimePart, own: set[str], endpoint: str) -> str:
    """The alias the customer wrote to; the mailbox's own address when it was no alias."""
    found = _all_addresses(mime, _RECIPIENT_HEADERS)
    aliases = [address for address in found if address in own and address != endpoint]
    return aliases[0] if aliases else endpoint


def _copied(mime: MimePart, own: set[str], sender: str) -> tuple[str, ...]:
    """Everyone else the mail went to openly (To and Cc): not us, not the sender."""
    found = _all_addresses(mime, ("To", "Cc"))
    return tuple(dict.fromkeys(a for a in found if a not in own and a != sender.lower()))


def _all_addresses(mime: MimePart, names: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for name in names:
        for value in mime.get_all(name) or ():
            found.extend(address for _, address in _addresses(value))
    return found


def _addresses(value: object) -> list[tuple[str, str]]:
    """(display name, address) of each mailbox in an address header: groups opened, comments
    dropped, RFC 2047 names decoded (after the addresses are found, so a name cannot forge one).

    Whatever the standard library can read is read: policy.default's RFC 5322 parser where the
    syntax needs it, compat32's lenient ``getaddresses`` for the plain case and as a fallback.
    """
    text = _unfolded(value)
    found: list[tuple[str, str]] = []
    if _FULL_ADDRESS_SYNTAX.search(text):
        try:
            header = _ADDRESS_HEADER("To", text)
            found = [(item.display_name, item.addr_spec) for item in header.addresses]
        except Exception:  # a header it cannot make sense of at all
            found = []
    if not any(_address(address) for _, address in found):
        found = [(_header_text(name), address) for name, address in getaddresses([text])]
    return [
        (" ".join(name.split()), address)
        for name, address in ((name, _address(spec)) for name, spec in found)
        if address
    ]


def _address(spec: str) -> str | None:
    """An address in one spelling: lower case, an IDN domain in Unicode (not punycode)."""
    local, at, domain = spec.strip().rpartition("@")
    if not at or not local or not domain or len(spec.strip()) > _MAX_ADDRESS:
        return None
    domain = domain.lower()
    if not domain.isascii():
        domain = unicodedata.normalize("NFC", domain)
    elif "xn--" in domain:
        with contextlib.suppress(UnicodeError):  # not valid IDNA: kept as written
            domain = domain.encode("ascii").decode("idna")
    return f"{local.lower()}@{domain}"


def _first_id(value: object) -> str | None:
    ids = _MESSAGE_IDS.findall(_header_text(value))
    return ids[0] if ids else None


def _thread_hints(mime: MimePart) -> tuple[str, ...]:
    """In-Reply-To first, then References newest first: the most specific hint leads."""
    in_reply_to = _MESSAGE_IDS.findall(_header_text(mime.get("In-Reply-To")))
    references = _MESSAGE_IDS.findall(_header_text(mime.get("References")))
    return tuple(dict.fromkeys([*in_reply_to, *reversed(references)]))


# --- body and attachments -----------------------------------------------------------------


@dataclass(slots=True)
class _Parts:
    text: str | None = None
    html: str | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)


def _walk(part: MimePart, found: _Parts) -> None:
    content_type = part.get_content_type()
    if content_type == "message/rfc822" or content_type.startswith("message/"):
        if content_type != "message/delivery-status":
            position = len(found.attachments)
            found.attachments.append(_attachment(part, _message_bytes(part), position))
        return
    if part.is_multipart():
        for child in part.get_payload():
            _walk(child, found)
        return
    _read_8bit_parameters(part)
    data = part.get_payload(decode=True) or b""
    is_body = part.get_content_disposition() != "attachment" and not part.get_filename()
    if is_body and content_type == "text/plain":
        text = decode_bytes(data, part.get_content_charset())
        found.text = text if found.text is None else f"{found.text}\n{text}"
    elif is_body and content_type == "text/html":
        html = decode_bytes(data, part.get_content_charset())
        found.html = html if found.html is None else f"{found.html}\n{html}"
    elif data or part.get_filename():
        found.attachments.append(_attachment(part, data, len(found.attachments)))


def _read_8bit_parameters(part: MimePart) -> None:
    """Raw UTF-8 in a file name (against RFC 2231, common anyway) read as text, as in headers.

    compat32 hands such a header out as a ``Header`` object that its own parameter parsing
    cannot read; the decoded text it can.
    """
    for name in ("Content-Type", "Content-Disposition"):
        value = part.get(name)
        if isinstance(value, Header):
            part.replace_header(name, _unfolded(value))


def _message_bytes(part: MimePart) -> bytes:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if inner is None:
        return part.get_payload(decode=True) or b""
    try:
        return inner.as_bytes()
    except Exception:
        return inner.as_string().encode("utf-8", "surrogateescape")


def _attachment(part: MimePart, data: bytes, position: int) -> InboundAttachment:
    content_type = part.get_content_type()
    if len(content_type) > _MAX_CONTENT_TYPE or not content_type.isprintable():
        content_type = "application/octet-stream"
    content_id = _header_text(part.get("Content-ID")).strip().strip("<>") or None
    disposition = part.get_content_disposition()
    return InboundAttachment(
        filename=_filename(part, content_type, position),
        content_type=content_type,
        data=data,
        content_id=content_id,
        inline=disposition == "inline" or (content_id is not None and disposition != "attachment"),
    )


def _filename(part: MimePart, content_type: str, position: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    # Outlook puts RFC 2047 words in the filename where RFC 2231 is meant; accept both.
    name = _header_text(name).strip().replace("/", "_").replace("\\", "_") if name else ""
    if name:
        return name[:255]
    if content_type == "message/rfc822":
        return f"message-{position + 1}.eml"
    extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{position + 1}{extension}"


def _clean_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()


# --- delivery status notifications (bounces) ------------------------------------------------


def _delivery_report(mime: MimePart) -> DeliveryReport | None:
    """The failure a DSN (multipart/report; report-type=delivery-status) reports, if it is one."""
    if mime.get_content_type() != "multipart/report" or not mime.is_multipart():
        return None
    if (mime.get_param("report-type") or "").lower() != "delivery-status":
        return None
    fields: dict[str, str] = {}
    original: str | None = None
    for part in mime.get_payload()[1:]:
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            fields = _recipient_fields(part)
        elif content_type in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original = _first_id(inner[0].get("Message-ID"))
        elif content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            headers = HeaderParser().parsestr(_payload_text(part), headersonly=True)
            original = _first_id(headers.get("Message-ID"))
    recipient = fields.get("final-recipient", "").split(";")[-1].strip() or None
    return DeliveryReport(
        original_message_id=original,
        action=fields.get("action", "failed").lower(),
        status=fields.get("status", ""),
        recipient=recipient,
        diagnostic=" ".join(fields.get("diagnostic-code", "").split(";")[-1].split()),
    )


def _recipient_fields(part: MimePart) -> dict[str, str]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        blocks = _PARSER.parsebytes(part.get_payload(decode=True) or b"").get_payload()
    for block in blocks if isinstance(blocks, list) else ():
        if block.get("Action"):
            return {name.lower(): _header_text(value) for name, value in block.items()}
    return {}


def _payload_text(part: MimePart) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        return "".join(item.as_string() for item in payload)
    return decode_bytes(part.get_payload(decode=True) or b"", part.get_content_charset())
