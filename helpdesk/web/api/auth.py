"""Bearer-token authentication, scope and rate limit for every API route.

The OpenAPI document alone needs no token; it is still rate limited, by address.
"""

from __future__ import annotations

from collections.abc import Collection

from flask import current_app, g, request
from sqlalchemy import select

from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import ApiToken, Role, TokenScope, User, utcnow
from helpdesk.web.api import bp
from helpdesk.web.api.errors import ApiError
from helpdesk.web.api.openapi import needed_scope
from helpdesk.web.api.rate_limit import charge

PUBLIC_ENDPOINTS = frozenset({"api.openapi_json"})


@bp.before_request
def authenticate() -> None:
    """Resolve ``Authorization: Bearer <token>`` to its user; refuse with 401, 403 or 429."""
    secret = _bearer_secret()
    token = _usable_token(secret) if secret else None
    charge(f"token:{token.id}" if token else f"address:{request.remote_addr}")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    if not secret:
        raise ApiError(401, "unauthorized", "send the header Authorization: Bearer <token>")
    if token is None:
        raise ApiError(
            401, "unauthorized", "the token is unknown, revoked, expired or of a deactivated user"
        )
    token.last_used_at = utcnow()
    # Committed on its own: the use stays on record when the request then fails, and read-only
    # requests have nothing else to commit.
    db.session.commit()
    g.api_user, g.api_token = token.user, token
    _check_scope()
    audit.api_write_begins()


def _bearer_secret() -> str:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def _usable_token(secret: str) -> ApiToken | None:
    """The token with this secret, unless it is revoked, expired or its user deactivated."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(secret)))
    if token is None or token.revoked_at is not None or token.expired(utcnow()):
        return None
    return token if token.user.active else None


def _check_scope() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    # No view: a 404 or 405 the API answers as such. A view without an operation still gets
    # its method's default scope, so a route never goes unguarded.
    if view is not None:
        _require_scope(needed_scope(getattr(view, "operation_id", ""), request.method))


def _require_scope(needed: TokenScope) -> None:
    """Refuse with 403 ``insufficient-scope`` unless this request's token covers ``needed``."""
    scope = g.api_token.scope
    if not scope.covers(needed):
        raise ApiError(
            403,
            "insufficient-scope",
            f"this needs a token with the {needed} scope or wider; this token's scope is {scope}",
        )


def api_user() -> User:
    """The user whose token authenticated this request."""
    return g.api_user


def require_role(roles: Collection[Role], refusal: str) -> User:
    """The token's user; 403 ``forbidden`` saying ``refusal`` unless their role is in ``roles``."""
    user = api_user()
    if user.role not in roles:
        raise ApiError(403, "forbidden", refusal)
    return user


ADMINS = (Role.ADMIN,)
MANAGERS = (Role.MANAGER, Role.ADMIN)
