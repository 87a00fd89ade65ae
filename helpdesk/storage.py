"""Content-addressed storage for attachments and raw messages.

Behind a small interface so an object store can replace the local directory.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Protocol

from flask import current_app

_KEY = re.compile(r"[0-9a-f]{64}")


class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store bytes and return their key; storing the same bytes twice is a no-op."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; KeyError when there are none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the bytes stored under ``key``; nothing happens when there are none."""
        ...


class DirectoryStore:
    """Blobs as files named by their SHA-256, fanned out over two directory levels."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise KeyError(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if not path.exists():
            # Write then rename, so a reader never sees half a file. The temporary name is
            # this thread's own, so concurrent writers of the same bytes never share one.
            tmp = path.with_name(f"{key}.{os.getpid()}-{threading.get_ident()}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except FileNotFoundError:  # the first blob of its directory
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def blob_store() -> BlobStore:
    """The store configured for the running app."""
    return DirectoryStore(current_app.config["HELPDESK_STORAGE_DIR"])
