"""Text no database stores: a NUL character (PostgreSQL refuses it in text) or half of a
surrogate pair (no UTF-8 encoding holds it). Refused at the door with 400 naming the field,
before any view or webhook could fail on it with a server error at the first write."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from helpdesk.web.api.errors import invalid

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "text may not hold NUL characters or unpaired surrogates"


def init_app(app: Flask) -> None:
    app.before_request(_refuse_unstorable)


def _refuse_unstorable() -> None:
    if request.routing_exception is not None:
        return  # no endpoint takes this request: its 404 or 405 is the answer
    field = _first_unstorable()
    if field is None:
        return
    if request.blueprint == "api":
        raise invalid(f"{field}: {MESSAGE}", field)
    raise BadRequest(f"{field}: {MESSAGE}")


def _first_unstorable() -> str | None:
    """The name of the first path part, parameter or field holding unstorable text, if any."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and _UNSTORABLE.search(value):
            return name
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if _UNSTORABLE.search(name) or _UNSTORABLE.search(value):
                return _shown(name)
    if request.is_json or request.blueprint == "chat":
        # The chat widget posts its JSON as text/plain (a simple request, no CORS preflight).
        return _in_json(request.get_json(force=True, silent=True), "body")
    return None


def _in_json(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _UNSTORABLE.search(key):
                return path
            name = key if path == "body" else f"{path}.{key}"
            if (found := _in_json(item, name)) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _in_json(item, f"{path}.{index}")) is not None:
                return found
    return None


def _shown(name: str) -> str:
    return _UNSTORABLE.sub("?", name)
