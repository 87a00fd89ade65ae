"""``helpdesk users``: people who work in the helpdesk, and their API tokens."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from helpdesk import accounts
from helpdesk.extensions import db
from helpdesk.models import ApiToken, Role, TokenScope, User


@click.group("users")
def command() -> None:
    """Create agents, managers and admins; mint and revoke API tokens."""


def _user_by_email(email: str) -> User:
    user = accounts.user_by_email(email)
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
    try:
        user = accounts.create_user(email, password, role, name)
    except accounts.AccountError as error:
        subject = "the password " if error.field == "password" else ""
        raise click.ClickException(f"{subject}{error}") from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}")


@command.command("password")
@click.argument("email")
@click.password_option(help="Prompted twice when not given.")
@with_appcontext
def set_password(email: str, password: str) -> None:
    """Give EMAIL a new password; the user's sessions end everywhere."""
    user = _user_by_email(email)
    try:
        accounts.reset_password(user, password)
    except accounts.AccountError as error:
        raise click.ClickException(f"the password {error}") from None
    db.session.commit()
    click.echo(f"New password set for {user.email}; their sessions have ended.")


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
@click.option(
    "--scope",
    type=click.Choice([scope.value for scope in TokenScope]),
    help="read, write (tickets and customers) or admin; never wider than the user's role "
    "(default: everything the role allows).",
)
@click.option(
    "--expires",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The last day (YYYY-MM-DD, helpdesk time) the token works (default: never expires).",
)
@with_appcontext
def mint_token(email: str, name: str | None, scope: str | None, expires: datetime | None) -> None:
    """Mint a new API token for EMAIL; the token is the last word printed, shown only once."""
    user = _user_by_email(email)
    timezone = current_app.config["HELPDESK_TIMEZONE"]
    try:
        minted = accounts.mint_token(
            user, name, scope, expires and accounts.expiry_after(expires.date(), timezone)
        )
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(
        f"Token {minted.token.name} for {user.email}, scope {minted.token.scope} "
        f"(store it now; it is not shown again): {minted.secret}"
    )


@command.command("revoke-token")
@click.argument("name")
@with_appcontext
def revoke_token(name: str) -> None:
    """Revoke the API token called NAME; requests using it are refused from now on."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise click.ClickException(f"no token named {name}")
    accounts.revoke_token(token)
    db.session.commit()
    click.echo(f"Revoked token {name}")
