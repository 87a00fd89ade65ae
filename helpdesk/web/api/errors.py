"""Every API error answers ``{"error": {"code": "…", "message": "…"}}`` with its HTTP status."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from helpdesk.extensions import db
from helpdesk.tickets.errors import InvalidInput, InvalidRule, TicketError
from helpdesk.tickets.queries import InvalidFilter
from helpdesk.web.api import bp
from helpdesk.web.api.schemas import Error, ErrorDetail

Row = TypeVar("Row")


class ApiError(Exception):
    """A request the API refuses before or instead of calling the ticket service."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def invalid(message: str, *fields: str) -> ApiError:
    """Bad input: 400 ``invalid``, naming the parameters or body fields at fault."""
    return ApiError(400, "invalid", message, {"fields": list(fields)} if fields else None)


def found(model: type[Row], row_id: int, what: str) -> Row:
    """The row with ``row_id``, or 404 ``not_found`` naming ``what`` was looked for."""
    row = db.session.get(model, row_id)
    if row is None:
        raise ApiError(404, "not_found", f"no {what} with id {row_id}")
    return row


def referenced(model: type[Row], row_id: int | None, what: str) -> Row | None:
    """The row a request body names by id, None for null; an unknown id is refused by the
    ticket rules' answer (422 ``invalid_input``)."""
    if row_id is None:
        return None
    row = db.session.get(model, row_id)
    if row is None:
        raise InvalidInput(f"no {what} with id {row_id}")
    return row


def found_all(model: type[Row], row_ids: list[int], what: str, field: str) -> list[Row]:
    """The rows a body names by id, in order; 400 ``invalid`` naming ``field`` for unknown ids."""
    rows = [db.session.get(model, row_id) for row_id in row_ids]
    missing = [str(row_id) for row_id, row in zip(row_ids, rows, strict=True) if row is None]
    if missing:
        raise invalid(f"{field}: no {what} with id {', '.join(missing)}", field)
    return [row for row in rows if row is not None]


def field_refusal(field: str, refusal: Exception) -> ApiError:
    """A service's refusal of one body field, as 400 ``invalid`` naming it."""
    return invalid(f"{field}: {refusal}", field)


def rule_refusal(refused: InvalidRule, conditions: Collection[str]) -> ApiError:
    """A rule the service refuses, as 400 ``invalid`` naming the body field at fault."""
    field = f"conditions.{refused.field}" if refused.field in conditions else refused.field
    return field_refusal(field, refused)


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    """The JSON error body every API failure uses; ``details`` only where the caller needs more."""
    body = Error(error=ErrorDetail(code=code, message=message, details=details))
    response = jsonify(body.model_dump(mode="json", exclude_none=details is None))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.details)


@bp.errorhandler(InvalidFilter)
def _invalid_filter(error: InvalidFilter) -> Response:
    return error_response(400, "invalid", str(error))


@bp.errorhandler(TicketError)
def _ticket_error(error: TicketError) -> Response:
    code = "invalid_input" if isinstance(error, InvalidInput) else "refused"
    return error_response(422, code, str(error))


@bp.errorhandler(HTTPException)
def http_error_json(error: HTTPException) -> Response:
    """Any HTTP error as the API's JSON error body."""
    response = error_response(
        error.code or 500, (error.name or "error").lower().replace(" ", "_"), error.description
    )
    # Keep what the exception says beyond its body, e.g. the Allow header of a 405.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
