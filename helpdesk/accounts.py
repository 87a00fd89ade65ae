"""The rules for people who work in the helpdesk and their API tokens.

The CLI and the admin pages both call these; like the ticket service they flush and never
commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import ApiToken, Role, TokenScope, User, utcnow
from helpdesk.passwords import password_problem


class AccountError(Exception):
    """A change to people or tokens that the rules refuse; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        # The form field at fault, where a form asked for it (e.g. "scope").
        self.field = field


@dataclass(frozen=True, slots=True)
class MintedToken:
    """A new token; ``secret`` exists only here and is never stored."""

    token: ApiToken
    secret: str


def normalize_login(email: str) -> str:
    """The form every login address is stored and looked up in."""
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise AccountError("must be an email address", "email")
    return email


def check_password_rules(password: str, email: str, name: str) -> None:
    """Refuse a password that is short, common, or made of the person's name or address."""
    if problem := password_problem(password, email, name):
        raise AccountError(problem, "password")


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def active_users() -> list[User]:
    """Everyone who may log in and take tickets, by name."""
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))


def create_user(email: str, password: str, role: Role | str, name: str | None = None) -> User:
    """A new active user who logs in with ``email`` and ``password``."""
    email = normalize_login(email)
    name = (name or "").strip() or email.split("@")[0]
    if user_by_email(email) is not None:
        raise AccountError(f"a user with email {email} already exists", "email")
    check_password_rules(password, email, name)
    user = User(email=email, name=name, role=Role(role))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, name: str, role: Role | str, active: bool, actor: User) -> None:
    """Change a user's name, role and active flag; nobody locks the last admin out."""
    role = Role(role)
    losing_admin = user.role == Role.ADMIN and (role != Role.ADMIN or not active)
    if losing_admin and user.active and _active_admins() <= 1:
        raise AccountError(
            "this is the last active admin; make someone else admin first",
            "role" if role != Role.ADMIN else "active",
        )
    if user.id == actor.id and not active:
        raise AccountError("you cannot deactivate yourself", "active")
    user.name = name.strip() or user.name
    user.role = role
    if not active:
        user.available = False
        if user.active:
            end_sessions(user)
    user.active = active
    db.session.flush()


def reset_password(user: User, password: str) -> None:
    """Set a new password that passes the rules; every session the user had ends."""
    check_password_rules(password, user.email, user.name)
    user.set_password(password)
    end_sessions(user)
    db.session.flush()


def end_sessions(user: User) -> None:
    """Log the user out everywhere: browsers and remember-me cookies alike."""
    user.session_version += 1


def expiry_after(day: date, timezone: str) -> datetime:
    """When a token that works through ``day`` (in the helpdesk's time zone) stops working."""
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(timezone))


def mint_token(
    user: User,
    name: str | None = None,
    scope: TokenScope | str | None = None,
    expires_at: datetime | None = None,
) -> MintedToken:
    """A new named API token for an active user; without a scope it may do all the role allows."""
    if not user.active:
        raise AccountError(f"{user.email} is deactivated")
    # The role limits every use of the token, so even an ``admin`` scope never widens it.
    scope = TokenScope.ADMIN if scope is None else TokenScope(scope)
    if expires_at is not None and expires_at <= utcnow():
        raise AccountError("that day has passed; choose today or a later day", "expires")
    name = (name or "").strip() or (
        f"{user.email.split('@')[0]}-{utcnow():%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
    )
    if db.session.scalar(select(ApiToken.id).where(ApiToken.name == name)):
        raise AccountError(f"a token named {name} already exists", "name")
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        user=user,
        token_hash=ApiToken.hash(secret),
        scope=scope,
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    return MintedToken(token, secret)


def revoke_token(token: ApiToken) -> None:
    """Requests with this token are refused from now on; revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()


def _active_admins() -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(User.role == Role.ADMIN, User.active.is_(True))
    )
