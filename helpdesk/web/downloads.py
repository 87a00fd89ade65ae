"""The ``Content-Disposition`` of every file the helpdesk serves, whatever its name.

HTTP headers are Latin-1 on the wire: a file name in another script written into the header as
it is breaks the response. RFC 6266 offers the name as RFC 5987 ``filename*=UTF-8''…``, which
every current browser reads, and a plain ASCII ``filename="…"`` for the rest.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import Attachment, Role
from helpdesk.storage import blob_store

# Shown in the browser rather than downloaded: pictures, which cannot run anything.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Most file systems take names of up to 255 bytes; browsers shorten longer ones badly.
MAX_NAME_BYTES = 255
_MAX_EXTENSION = 16
# Control characters, path separators, and the bidirectional overrides that make
# "invoice\u202efdp.exe" look like a PDF.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\u202a-\u202e\u2066-\u2069]")
# Not in an ASCII fallback: what needs quoting in a quoted-string, and "%", which some
# browsers percent-decode there.
_NOT_IN_FALLBACK = re.compile(r'[^\x20-\x7e]|["\\%]')


def content_disposition(filename: str, *, inline: bool = False, default: str = "download") -> str:
    """The header value that offers ``filename`` for download (or ``inline`` display)."""
    name = safe_filename(filename, default)
    kind = "inline" if inline else "attachment"
    fallback = _ascii_fallback(name, default)
    if fallback == name:
        return f'{kind}; filename="{name}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def safe_filename(filename: str, default: str = "download") -> str:
    """The name with nothing a file system or a terminal could trip on, short enough to save."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", filename)).strip(" .") or default
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    suffix = PurePosixPath(name).suffix
    if len(suffix) > _MAX_EXTENSION:
        suffix = ""
    stem = name[: len(name) - len(suffix)]
    room = MAX_NAME_BYTES - len(suffix.encode()) - len("…".encode())
    # Cut on a character boundary: decoding the cut bytes drops a split character.
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .")
    return f"{stem}…{suffix}"


def _ascii_fallback(name: str, default: str) -> str:
    """Accents dropped ("Résumé" -> "Resume"), other non-ASCII as "_"; the extension kept."""
    plain = "".join(
        char for char in unicodedata.normalize("NFKD", name) if not unicodedata.combining(char)
    )
    plain = _NOT_IN_FALLBACK.sub("_", plain.replace('"', "'"))
    suffix = PurePosixPath(plain).suffix
    stem = plain[: len(plain) - len(suffix)]
    if not any(char.isalnum() for char in stem):
        stem = default
    return f"{stem}{suffix}"


def stored_attachment(attachment_id: int, role: Role) -> Attachment | None:
    """The stored file with that id, when ``role`` may see its ticket: a deleted ticket's
    files are for admins only, as the ticket is."""
    found = db.session.get(Attachment, attachment_id)
    if found is None or found.storage_key is None:
        return None
    if found.message.ticket.is_deleted and role != Role.ADMIN:
        return None
    return found


def attachment_response(attachment: Attachment) -> Response:
    """A stored attachment as a download (a picture shown in place); 404 while not stored."""
    try:
        data = blob_store().get(attachment.storage_key)
    except KeyError:
        raise NotFound() from None
    inline = attachment.content_type in INLINE_TYPES
    response = Response(
        data, mimetype=attachment.content_type if inline else "application/octet-stream"
    )
    response.headers["Content-Disposition"] = content_disposition(
        attachment.filename, inline=inline
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
