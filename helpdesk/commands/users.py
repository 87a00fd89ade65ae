"""``helpdesk users``: people who work in the helpdesk, and their API tokens."""

from __future__ import annotations

import secrets

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import ApiToken, Role, User, utcnow


@click.group("users")
def command() -> None:
    """Create agents, managers and admins; mint and revoke API tokens."""


def _user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


@command.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.AGENT.value,
    show_default=True,
)
@click.option("--name", help="Display name (default: the part of EMAIL before the @).")
@click.password_option(help="Prompted twice when not given.")
@with_appcontext
def create_user(email: str, role: str, name: str | None, password: str) -> None:
    """Create a user who logs in with EMAIL and a password."""
    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("must be an email address", param_hint="EMAIL")
    if len(password) < 8:
        raise click.BadParameter("must be at least 8 characters", param_hint="password")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise click.ClickException(f"a user with email {email} already exists")
    user = User(email=email, name=name or email.split("@")[0], role=Role(role))
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}")


@command.command("list")
@with_appcontext
def list_users() -> None:
    """Every user with role and state."""
    for user in db.session.scalars(select(User).order_by(User.role, User.email)):
        state = "active" if user.active else "deactivated"
        click.echo(f"{user.role:<8} {user.email:<40} {user.name:<24} {state}")


@command.command("token")
@click.argument("email")
@click.option("--name", help="A name to revoke it by (default: derived from EMAIL and time).")
@with_appcontext
def mint_token(email: str, name: str | None) -> None:
    """Mint a new API token for EMAIL; the token is the last word printed, shown only once."""
    user = _user_by_email(email)
    if not user.active:
        raise click.ClickException(f"{user.email} is deactivated")
    name = name or f"{user.email.split('@')[0]}-{utcnow():%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
    if db.session.scalar(select(ApiToken.id).where(ApiToken.name == name)):
        raise click.ClickException(f"a token named {name} already exists")
    secret = secrets.token_urlsafe(32)
    db.session.add(ApiToken(name=name, user=user, token_hash=ApiToken.hash(secret)))
    db.session.commit()
    click.echo(f"Token {name} for {user.email} (store it now; it is not shown again): {secret}")


@command.command("revoke-token")
@click.argument("name")
@with_appcontext
def revoke_token(name: str) -> None:
    """Revoke the API token called NAME; requests using it are refused from now on."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise click.ClickException(f"no token named {name}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    click.echo(f"Revoked token {name}")
