"""``helpdesk mailbox``: register, list and fetch the email channel's mailboxes."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from helpdesk import two_factor
from helpdesk.extensions import db
from helpdesk.mail import mailboxes
from helpdesk.mail.intake import BATCH_SIZE, default_worker_name, fetch_all
from helpdesk.models import Mailbox, Security, Stage
from helpdesk.tickets.errors import TicketError

SECURITY = click.Choice([security.value for security in Security])
STAGES = click.Choice([stage.value for stage in Stage if stage != Stage.UNKNOWN])
# Show progress when a fetch has at least this many messages to take in.
BACKLOG = 200


@click.group("mailbox")
def command() -> None:
    """Add, list, remove and fetch mailboxes (IMAP in, SMTP out)."""


def _alias(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    aliases = []
    for value in values:
        address, _, stage = value.partition("=")
        if not address or stage not in STAGES.choices:
            raise click.BadParameter(
                f"{value!r}: use ADDRESS=STAGE with a stage of {', '.join(STAGES.choices)}"
            )
        aliases.append((address.strip(), stage))
    return tuple(aliases)


@command.command("add")
@click.option("--address", required=True, help="The support address customers write to.")
@click.option("--imap-host", required=True)
@click.option("--imap-port", type=int, default=993, show_default=True)
@click.option("--imap-security", type=SECURITY, default="tls", show_default=True)
@click.option("--imap-user", required=True)
@click.option("--imap-password", required=True, prompt=True, hide_input=True)
@click.option("--folder", default="INBOX", show_default=True, help="The folder read.")
@click.option(
    "--processed-folder", help="Move mail here after it is stored, instead of flagging it read."
)
@click.option("--smtp-host", help="Where replies are sent (none: replies cannot go out).")
@click.option("--smtp-port", type=int, default=587, show_default=True)
@click.option("--smtp-security", type=SECURITY, default="starttls", show_default=True)
@click.option("--smtp-user")
@click.option("--smtp-password")
@click.option("--stage", type=STAGES, help="Default journey stage of mail to this mailbox.")
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    callback=_alias,
    help="ADDRESS=STAGE: mail sent to this alias gets that stage (repeatable).",
)
@click.option("--acknowledge", is_flag=True, help="Answer each new ticket with its number.")
@with_appcontext
def add(**options) -> None:
    """Register a mailbox; the worker starts fetching it."""
    try:
        mailbox = mailboxes.add_mailbox(mailboxes.MailboxSettings(**options))
    except TicketError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Added mailbox {mailbox.address} ({mailbox.imap_user}@{mailbox.imap_host})")


@command.command("list")
@with_appcontext
def list_() -> None:
    """Every mailbox with its last fetch, counts and last error."""
    found = mailboxes.list_mailboxes()
    if not found:
        click.echo("No mailboxes yet; add one with `helpdesk mailbox add`.")
    for mailbox in found:
        click.echo(_describe(mailbox))


def _describe(mailbox: Mailbox) -> str:
    last = f"{mailbox.last_fetch_at:%Y-%m-%d %H:%M:%S} UTC" if mailbox.last_fetch_at else "never"
    counts = mailboxes.outcome_counts(mailbox)
    lines = [
        f"{mailbox.address}{'' if mailbox.enabled else ' (disabled)'}",
        f"  imap   {mailbox.imap_user}@{mailbox.imap_host}:{mailbox.imap_port} "
        f"({mailbox.imap_security}) folder {mailbox.folder}"
        + (f" -> {mailbox.processed_folder}" if mailbox.processed_folder else ""),
        f"  smtp   {mailbox.smtp_host}:{mailbox.smtp_port} ({mailbox.smtp_security})"
        if mailbox.smtp_host
        else "  smtp   none (replies cannot be sent)",
        "; ".join(
            [
                f"  last fetch {last}",
                f"fetched {mailbox.fetched_count}",
                *(f"{outcome} {count}" for outcome, count in sorted(counts.items())),
            ]
        ),
        f"  last error: {mailbox.last_error}" if mailbox.last_error else "  last error: none",
    ]
    return "\n".join(lines)


@command.command("fetch")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=BATCH_SIZE,
    show_default=True,
    help="Messages stored per transaction.",
)
@with_appcontext
def fetch(batch_size: int) -> None:
    """Fetch every mailbox once and exit."""
    reports = fetch_all(default_worker_name(), progress=_progress, batch_size=batch_size)
    for report in reports:
        click.echo(str(report))
    if any(report.error for report in reports):
        sys.exit(1)


def _progress(mailbox: Mailbox):
    def show(done: int, total: int) -> None:
        if total >= BACKLOG:
            click.echo(f"{mailbox.address}: {done}/{total}", err=True)

    return show


@command.command("remove")
@click.argument("address")
@with_appcontext
def remove(address: str) -> None:
    """Stop using a mailbox; its tickets and stored mail stay."""
    mailbox = mailboxes.mailbox_for(address)
    if mailbox is None:
        raise click.ClickException(f"no mailbox for {address}")
    mailboxes.remove_mailbox(mailbox)
    db.session.commit()
    click.echo(f"Removed mailbox {address}")


@command.command("password")
@click.argument("address")
@click.option("--smtp", is_flag=True, help="Set the SMTP password instead of the IMAP one.")
@click.password_option("--password", confirmation_prompt=True)
@with_appcontext
def password(address: str, smtp: bool, password: str) -> None:
    """Enter a mailbox's IMAP (or SMTP) password again; it is stored encrypted."""
    mailbox = mailboxes.mailbox_for(address)
    if mailbox is None:
        raise click.ClickException(f"no mailbox for {address}")
    mailboxes.update_mailbox(mailbox, **{"smtp_password" if smtp else "imap_password": password})
    db.session.commit()
    click.echo(f"New {'SMTP' if smtp else 'IMAP'} password stored for {mailbox.address}")


@command.command("rotate-secrets")
@with_appcontext
def rotate_secrets() -> None:
    """Re-encrypt every stored secret (mailbox passwords, two-factor app keys) with the first
    HELPDESK_SECRETS_KEY key."""
    unreadable = mailboxes.rotate_secrets()
    locked_out = two_factor.rotate_secrets()
    db.session.commit()
    total = len(mailboxes.list_mailboxes())
    click.echo(f"Re-encrypted the passwords of {total - len(unreadable)} of {total} mailboxes")
    for mailbox in unreadable:
        click.echo(
            f"{mailbox.address}: no configured key decrypts its passwords; "
            f"enter them again with `helpdesk mailbox password {mailbox.address}`",
            err=True,
        )
    for user in locked_out:
        click.echo(
            f"{user.email}: no configured key decrypts their two-factor app key; they log in "
            "with a recovery code, or an admin resets their two-factor on the Users admin page",
            err=True,
        )
    if unreadable or locked_out:
        sys.exit(1)


@command.command("quarantine")
@with_appcontext
def quarantine() -> None:
    """Mail that could not be taken in, with the reason (the raw message is kept)."""
    items = mailboxes.quarantined()
    if not items:
        click.echo("Nothing in quarantine.")
    for item in items:
        click.echo(
            f"{item.created_at:%Y-%m-%d %H:%M} {item.mailbox.address} uid {item.uid} "
            f"raw {item.raw_ref}: {item.reason}"
        )
