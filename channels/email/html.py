"""Inbound HTML made safe to show agents, and plain text for mail that only has HTML."""

from __future__ import annotations

import html as html_entities
import re

import nh3

_ALLOWED_SCHEMES = {"http", "https", "mailto", "cid"}
_BLOCK_END = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h[1-6]|/blockquote|/table)\b[^>]*>", re.I)
_SPACES = re.compile(r"[ \t\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def sanitize_html(html: str, *, remote_images: bool = False) -> str:
    """Allow-list sanitising; remote images stay blocked (tracking pixels) unless asked for.

    ``cid:`` images are kept: they are attachments of the message itself.
    """

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src" and not remote_images:
            return value if value.lower().startswith("cid:") else None
        return value

    return nh3.clean(html, url_schemes=_ALLOWED_SCHEMES, attribute_filter=keep)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: tags dropped, line breaks kept, scripts and styles gone."""
    marked = _BLOCK_END.sub("\n", html)
    text = html_entities.unescape(nh3.clean(marked, tags=set()))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
