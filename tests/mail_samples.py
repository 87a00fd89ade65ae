"""Building test emails."""

from __future__ import annotations

import uuid


def mail(
    subject: str = "Where is my parcel?",
    body: str = "Hello, my order 1234 has not arrived.",
    sender: str = "ada@customer.test",
    to: str = "support@shop.test",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    message_id = message_id or f"<{uuid.uuid4().hex}@customer.test>"
    lines = [
        f"From: Ada Lovelace <{sender}>",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Date: Tue, 24 Nov 2026 10:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
        "",
        body,
        "",
    ]
    return "\r\n".join(lines).encode()
