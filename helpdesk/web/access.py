"""Who may see what: the login session, role checks and "last seen" for availability."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Request, abort, flash, redirect, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from helpdesk import two_factor
from helpdesk.chat.presence import note_agent_seen
from helpdesk.extensions import db, login_manager
from helpdesk.models import Role, User

View = TypeVar("View", bound=Callable[..., Any])


# Provider webhooks are signed by the provider, and the chat widget's requests by the visitor's
# token: neither carries a login session, so nothing about users is looked up for them, and
# each answers without reading, signing or sending a session cookie.
SESSIONLESS_BLUEPRINTS = frozenset({"webhooks", "chat"})
# Where those blueprints live, for what runs before the URL is matched.
SESSIONLESS_PATHS = ("/webhooks/", "/chat/")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, not opened at all for the sessionless paths."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(SESSIONLESS_PATHS):
            return None  # Flask's null session: nothing to read, sign or send back
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    app.before_request(_note_seen)
    app.before_request(_two_factor_first)


@login_manager.user_loader
def user_for_session(session_id: str) -> User | None:
    """The active user a session's id names, while that session is still theirs."""
    # "<id>:<session version>" (User.get_id): a session from before the user's last password
    # change or deactivation names an older version and is over.
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def _note_seen() -> None:
    if request.blueprint in SESSIONLESS_BLUEPRINTS or not current_user.is_authenticated:
        return
    if note_agent_seen(current_user):
        db.session.commit()


# Where an admin who must set up two-factor may still go: the login pages, their security
# page, and what is not the workspace (the API has its own tokens; public pages).
_OPEN_BLUEPRINTS = frozenset({"auth", "api", "chat", "webhooks", "survey", "unsubscribe", "verify"})


def _two_factor_first() -> Response | None:
    if request.blueprint in _OPEN_BLUEPRINTS or not current_user.is_authenticated:
        return None
    if request.endpoint == "static" or not two_factor.setup_required(current_user):
        return None
    flash("Admins must turn on two-factor before anything else: it takes a minute.", "info")
    return redirect(url_for("auth.security"))


def roles_required(*roles: Role) -> Callable[[View], View]:
    """Let in logged-in users holding one of ``roles``; others get 403, strangers the login."""

    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


staff_required = roles_required(Role.AGENT, Role.MANAGER, Role.ADMIN)
admin_required = roles_required(Role.ADMIN)


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirects after login)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def current_path() -> str:
    """The path and query of this request, to come back to after logging in."""
    return request.full_path.rstrip("?")
