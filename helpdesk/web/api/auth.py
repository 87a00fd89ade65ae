"""Bearer-token authentication for every API route except the OpenAPI document."""

from __future__ import annotations

from flask import g, request
from sqlalchemy import select

from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import ApiToken, User, utcnow
from helpdesk.web.api import bp
from helpdesk.web.api.errors import ApiError

PUBLIC_ENDPOINTS = frozenset({"api.openapi_json"})


@bp.before_request
def authenticate() -> None:
    """Resolve ``Authorization: Bearer <token>`` to its user, or refuse the request with 401."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "unauthorized", "send the header Authorization: Bearer <token>")
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(secret.strip()))
    )
    if token is None or token.revoked_at is not None or not token.user.active:
        raise ApiError(
            401, "unauthorized", "the token is unknown, revoked or of a deactivated user"
        )
    token.last_used_at = utcnow()
    # Committed on its own: the use stays on record when the request then fails, and read-only
    # requests have nothing else to commit.
    db.session.commit()
    g.api_user, g.api_token = token.user, token
    audit.api_write_begins()


def api_user() -> User:
    """The user whose token authenticated this request."""
    return g.api_user
