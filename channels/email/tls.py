"""The TLS context IMAP and SMTP connections share: always verified, optionally an extra CA."""

from __future__ import annotations

import ssl


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The system's trusted authorities plus ``ca_file`` (an in-house CA) when one is named."""
    context = ssl.create_default_context()
    if ca_file:
        # Added to the system's trust, not instead of it: a mailbox on a public provider keeps
        # working when an in-house CA is configured for another one.
        context.load_verify_locations(cafile=ca_file)
    return context


def certificate_refusal(error: ssl.SSLCertVerificationError) -> str:
    """Why the server's certificate was refused, without the OpenSSL source location."""
    return f"TLS certificate refused: {error.verify_message}"
