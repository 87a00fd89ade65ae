"""Keys derived from SECRET_KEY, one per purpose, so one leaked key opens nothing else."""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


# Intake verifies every signed Message-ID a mail names: derive each key once per process.
@lru_cache(maxsize=16)
def derived_key(secret_key: str, purpose: bytes) -> bytes:
    """32 bytes of key for ``purpose`` (HKDF-SHA256 over the app's SECRET_KEY)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
    return hkdf.derive(secret_key.encode())
