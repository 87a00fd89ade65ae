"""Building test emails."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

# Each mail is written a second after the one before: two mails alike in From, Date, Subject
# and body are copies of one mail (channels/email/parse.py dedupe_key).
_SENT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
_SECONDS = itertools.count()


def mail(
    subject: str = "Where is my parcel?",
    body: str = "Hello, my order 1234 has not arrived.",
    sender: str = "ada@customer.test",
    to: str = "support@shop.test",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    date: str | None = None,
) -> bytes:
    message_id = message_id or f"<{uuid.uuid4().hex}@customer.test>"
    date = date or format_datetime(_SENT + timedelta(seconds=next(_SECONDS)))
    lines = [
        f"From: Ada Lovelace <{sender}>",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        f"Date: {date}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
        "",
        body,
        "",
    ]
    return "\r\n".join(lines).encode()
