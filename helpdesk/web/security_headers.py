"""Headers that tell browsers what our pages may load, who may frame them and what they may
leak: one policy for every HTML page, set after the view has answered."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

# Scripts only from our own files (no inline ones, none injected); style attributes stay
# allowed because the reports draw bars and heat maps with CSS variables in them, which cannot
# run code. Pages are framed by nobody (clickjacking), forms post only here.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Other sites embed the chat widget and call its endpoints: their headers stay their own.
EMBEDDED_BLUEPRINTS = frozenset({"chat"})


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.blueprint in EMBEDDED_BLUEPRINTS or response.mimetype != "text/html":
        return response
    # A view with a stricter policy of its own (an email's HTML) keeps it.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
