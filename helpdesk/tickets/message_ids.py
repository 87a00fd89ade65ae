"""Our own email Message-IDs, signed: a reply naming one is proven to answer our mail.

An id reads ``<tN.R.S@host>``: N the ticket's number, R 64 random bits, S an HMAC-SHA256 of
``tN.R`` under a key derived from SECRET_KEY, cut to 80 bits. R and S are lower-case base32,
since some mail software changes the case of ids, and short, so that the header stays on one
78-character line for most host names. A stored id is trusted by lookup, as ever; the
signature adds two things. It proves an id ours when the store no longer holds it (a reply to
mail sent after the backup that was restored), and it tells a forged id, one made to look like
ours, from a genuine one. Ids made before signing (``<hex@host>``) carry none and are trusted
by lookup alone. The host is not signed: ids keep working after HELPDESK_PUBLIC_URL changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from flask import current_app

from helpdesk.derived_keys import derived_key

# Names the purpose, so this key proves nothing anywhere else.
_DERIVATION_INFO = b"helpdesk email message-id signature v1"
_SIGNATURE_BYTES = 10
_OURS = re.compile(
    r"<(?P<signed>t(?P<number>\d{1,12})\.[a-z2-7]{13})\.(?P<signature>[a-z2-7]{16})@[^<>@\s]+>",
    # ASCII: ``\d`` would take other scripts' digits, which no id of ours holds.
    re.IGNORECASE | re.ASCII,
)


def new_message_id(ticket_number: int, host: str) -> str:
    """A fresh signed Message-ID for a mail we send on the ticket with this number."""
    signed = f"t{ticket_number}.{_base32(secrets.token_bytes(8))}"
    return f"<{signed}.{_signature(signed)}@{host}>"


def proven_ticket_number(message_id: str) -> int | None:
    """The ticket number in one of our ids whose signature holds; None for any other id."""
    found = _OURS.fullmatch(message_id.strip())
    if found is None or not _signed_by_us(found):
        return None
    return int(found["number"])


def forged(message_id: str) -> bool:
    """Shaped like one of our ids, but its signature is not ours."""
    found = _OURS.fullmatch(message_id.strip())
    return found is not None and not _signed_by_us(found)


def _signed_by_us(found: re.Match[str]) -> bool:
    expected = _signature(found["signed"].lower())
    return hmac.compare_digest(expected, found["signature"].lower())


def _signature(signed: str) -> str:
    key = derived_key(current_app.config["SECRET_KEY"], _DERIVATION_INFO)
    digest = hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()
    return _base32(digest[:_SIGNATURE_BYTES])


def _base32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()
