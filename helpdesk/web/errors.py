"""Error pages: friendly HTML for people, the JSON error body under /api."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from helpdesk.extensions import db
from helpdesk.web.api import bp as api_bp
from helpdesk.web.api.errors import http_error_json

log = logging.getLogger(__name__)

MESSAGES = {
    403: ("Not for your role", "Your role does not include this page; an admin can change that."),
    404: ("Not found", "There is nothing at this address. It may have moved or never existed."),
    500: ("Something went wrong", "The error has been logged. Please try again in a moment."),
}


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _under_api() -> bool:
    return request.path == api_bp.url_prefix or request.path.startswith(f"{api_bp.url_prefix}/")


def _http_error(error: HTTPException) -> Response | tuple[str, int]:
    # Routing errors reach only app-wide handlers: Flask cannot tell the blueprint of a path
    # that matched no route, so paths under /api get their JSON body here.
    if _under_api():
        return http_error_json(error)
    code = error.code or 500
    title, text = MESSAGES.get(code, (error.name, error.description))
    return render_template("errors/error.html", code=code, title=title, text=text), code


def _unexpected_error(error: Exception) -> Response | tuple[str, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return _http_error(InternalServerError())
