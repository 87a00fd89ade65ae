"""Credentials kept in the database (mailbox passwords), encrypted with the app's key.

The key is HELPDESK_SECRETS_KEY: one or more Fernet keys, comma-separated, newest first. The
newest encrypts; any of them decrypts, so an old key can stay listed while
``helpdesk mailbox rotate-secrets`` re-encrypts everything with the new one. Unset, a key is
derived from SECRET_KEY, so a fresh install needs no extra step.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from helpdesk.derived_keys import derived_key

# Names the purpose, so a key derived from SECRET_KEY here is worth nothing anywhere else.
_DERIVATION_INFO = b"helpdesk credentials encryption key v1"


class UnreadableCredential(Exception):
    """A stored credential that none of the configured keys decrypts."""


def encrypt(plain: str) -> str:
    """A Fernet token of the credential under the newest key."""
    return _cipher().encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The credential a token holds; UnreadableCredential when no configured key opens it."""
    try:
        return _cipher().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise UnreadableCredential("no configured key decrypts it") from None


def reencrypt(token: str) -> str:
    """The same credential under the newest key; UnreadableCredential as for decrypt."""
    try:
        return _cipher().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise UnreadableCredential("no configured key decrypts it") from None


def parse_keys(value: str | None) -> tuple[str, ...]:
    """HELPDESK_SECRETS_KEY as a list of keys; ValueError naming the variable if one is bad."""
    keys = tuple(key.strip() for key in (value or "").split(",") if key.strip())
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                f"HELPDESK_SECRETS_KEY: key {position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes; make one with `python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None
    return keys


def _cipher() -> MultiFernet:
    keys = current_app.config.get("HELPDESK_SECRETS_KEY") or (
        _derived_key(current_app.config["SECRET_KEY"]),
    )
    return MultiFernet([Fernet(key) for key in keys])


def _derived_key(secret_key: str) -> str:
    return base64.urlsafe_b64encode(derived_key(secret_key, _DERIVATION_INFO)).decode("ascii")
